"""DARP: the refinery solves its convex problem (checked against scipy), the denoising keeps the top
α·N̂_k entries per class, and the algorithm trains on refined pseudo-labels after the warm-up."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from semisup.algorithms.base import StepContext
from semisup.algorithms.darp import DARP
from semisup.components.darp import DARPRefinery, darp_align, darp_denoise
from semisup.data.batch import Batch

PROBS = torch.tensor(
    [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.8, 0.1, 0.1], [0.3, 0.3, 0.4], [0.2, 0.5, 0.3]],
    dtype=torch.float64,
)
TARGET = torch.tensor([2.0, 2.5, 1.5], dtype=torch.float64)  # sums to N = 6


def scipy_reference(a: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """min Σ_m w_m KL(x_m ‖ a_m) s.t. rows sum to 1, columns to target, x ≥ 0: a generic solver."""
    N, C = a.shape

    def objective(x: np.ndarray) -> float:
        X = x.reshape(N, C)
        return float((weights[:, None] * X * np.log(X / a)).sum())

    def gradient(x: np.ndarray) -> np.ndarray:
        X = x.reshape(N, C)
        return (weights[:, None] * (np.log(X / a) + 1)).ravel()

    cons = [
        {"type": "eq", "fun": lambda x: x.reshape(N, C).sum(1) - 1},
        # the last column sum follows from the others and the rows: dropped, so the Jacobian has full rank
        {"type": "eq", "fun": lambda x: x.reshape(N, C).sum(0)[:-1] - target[:-1]},
    ]
    res = minimize(objective, a.ravel(), jac=gradient, constraints=cons, bounds=[(1e-9, 1)] * (N * C),
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})  # fmt: skip
    assert res.success, res.message
    return res.x.reshape(N, C)


@pytest.mark.parametrize("entropy_weighted", [True, False])
def test_align_solves_the_convex_problem(entropy_weighted):
    X = darp_align(PROBS, TARGET, iters=200, entropy_weighted=entropy_weighted)
    assert torch.allclose(X.sum(1), torch.ones(6, dtype=X.dtype), atol=1e-12)
    assert torch.allclose(X.sum(0), TARGET, atol=1e-6)
    a = PROBS.numpy()
    w = 1 / -(a * np.log(a + 1e-6)).sum(1) if entropy_weighted else np.ones(6)
    assert np.allclose(X.numpy(), scipy_reference(a, TARGET.numpy(), w), atol=2e-4)


def test_align_with_the_papers_ten_rounds_is_close_and_keeps_rows_normalised():
    X = darp_align(PROBS.float(), TARGET.float())
    assert X.dtype == torch.float32
    assert torch.allclose(X.sum(1), torch.ones(6), atol=1e-6)
    assert torch.allclose(X.sum(0), TARGET.float(), atol=0.05)


def test_denoise_keeps_the_top_alpha_n_per_class():
    # α = 1: floor(N̂) = (2, 2, 1) entries kept in columns 0, 1, 2.
    out = darp_denoise(PROBS, TARGET, alpha=1.0)
    # Column 0 keeps rows 3, 0 (0.8, 0.7); column 1 rows 5, 2 (0.5, 0.4); column 2 row 4 (0.4). Each of
    # those rows keeps one entry, so it becomes one-hot; row 1 keeps none and becomes uniform.
    for row, k in [(0, 0), (3, 0), (2, 1), (5, 1), (4, 2)]:
        assert torch.allclose(out[row], torch.eye(3, dtype=out.dtype)[k], atol=1e-5), row
    assert torch.allclose(out[1], torch.full((3,), 1 / 3, dtype=out.dtype))


def test_refinery_state_and_algorithm_uses_refined_labels():
    cfg = DARP.Config(threshold=0.5, warmup=0.5, period=2)
    algo = DARP(cfg, num_classes=3, n_unlabeled=6)
    algo.observe_labels(torch.tensor([0, 0, 1, 1, 1, 2]))  # π = (1/3, 1/2, 1/6) -> N̂ = (2, 3, 1)
    assert torch.allclose(algo.counts.prior() * 6, torch.tensor([2.0, 3.0, 1.0]))
    model = torch.nn.Linear(2, 3)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 2.0], [-1.0, -1.0]]))
        model.bias.zero_()
    u = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.8, 0.0], [0.0, 1.0], [0.1, 0.9], [0.5, 0.5]])
    batch = Batch(torch.zeros(2, 2), torch.tensor([0, 1]), (u, u), torch.arange(6), torch.full((6,), -1))
    # Before the warm-up (step 0 of 4): FixMatch on p(u_w), and the memory holds p(u_w).
    _, logs = algo.training_step(model, batch, StepContext(0, 4))
    probs = torch.softmax(model(u), -1).detach()
    assert torch.allclose(algo.refinery.memory, probs)
    assert torch.allclose(algo.refinery.refined, torch.full((6, 3), 1 / 3))
    # Step 2 = ceil(0.5 * 4): the first refinement; the pseudo-labels are its argmax.
    loss, logs = algo.training_step(model, batch, StepContext(2, 4))
    target = torch.tensor([2.0, 3.0, 1.0])
    expected = darp_align(darp_denoise(probs, target, 2.0), target, 10)
    assert torch.allclose(algo.refinery.refined, expected)
    max_p, pseudo = expected.max(-1)
    mask = (max_p >= 0.5).float()
    ce = torch.nn.functional.cross_entropy(model(u), pseudo, reduction="none")
    sup = torch.nn.functional.cross_entropy(model(torch.zeros(2, 2)), torch.tensor([0, 1]))
    assert torch.allclose(loss, sup + (ce * mask).mean(), atol=1e-6)
    # Step 3: no refinement (period 2), the stored labels are reused even though the memory moved.
    before = algo.refinery.refined.clone()
    algo.training_step(model, batch, StepContext(3, 4))
    assert torch.equal(algo.refinery.refined, before)


def test_refinery_rejects_bad_arguments():
    with pytest.raises(ValueError, match="alpha > 0"):
        DARPRefinery(3, 5, alpha=0.0)
    with pytest.raises(ValueError, match="period >= 1"):
        DARP(DARP.Config(period=0), 3, 5)
