"""NT-Xent against its analytic values, a naive loop, and its symmetries."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from semisup.losses import NTXentLoss, contrastive_accuracy, nt_xent


def naive_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    """SimCLR eq. 1 written as loops over the 2N anchors."""
    z = [F.normalize(v, dim=0) for v in torch.cat([z1, z2])]
    n = z1.shape[0]
    total = 0.0
    for i in range(2 * n):
        pos = i + n if i < n else i - n
        num = math.exp(float(z[i] @ z[pos]) / t)
        den = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(2 * n) if k != i)
        total += -math.log(num / den)
    return total / (2 * n)


@pytest.mark.parametrize("n,t", [(2, 0.5), (4, 0.1), (8, 1.0)])
def test_aligned_orthogonal_embeddings_analytic(n, t):
    """z1 = z2, examples orthogonal: positive sim 1, 2N−2 negatives of sim 0 -> log(1 + (2N−2)e^{−1/τ})."""
    z = torch.eye(n, 16) * 3.0  # scale must not matter (cosine similarity)
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / t))
    assert float(nt_xent(z, z, t)) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_all_identical_embeddings_is_log_2n_minus_1():
    z = torch.ones(5, 3)
    assert float(nt_xent(z, z, 0.3)) == pytest.approx(math.log(9), rel=1e-5)


def test_matches_naive_loop_on_random_embeddings():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    for t in (0.07, 0.5, 2.0):
        assert float(nt_xent(z1, z2, t)) == pytest.approx(naive_nt_xent(z1, z2, t), rel=1e-5)


def test_symmetric_in_views_and_invariant_to_permuting_examples():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    base = nt_xent(z1, z2, 0.5)
    assert torch.allclose(nt_xent(z2, z1, 0.5), base, atol=1e-6)
    perm = torch.randperm(7, generator=g)
    assert torch.allclose(nt_xent(z1[perm], z2[perm], 0.5), base, atol=1e-6)
    # pairing an example with another's second view breaks the positives: the loss goes up
    assert nt_xent(z1, z2.roll(1, 0), 0.5) != base


def test_aligned_is_lower_than_random_and_gradient_is_finite():
    g = torch.Generator().manual_seed(2)
    z1 = torch.randn(8, 16, generator=g, requires_grad=True)
    aligned = nt_xent(z1, z1.detach() + 0.01, 0.5)
    random = nt_xent(z1, torch.randn(8, 16, generator=g), 0.5)
    assert aligned < random
    random.backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0


def test_module_equals_function_and_validates_temperature():
    z1, z2 = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.equal(NTXentLoss(0.2)(z1, z2), nt_xent(z1, z2, 0.2))
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature must be > 0"):
            NTXentLoss(bad)
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="must both be"):
        nt_xent(torch.randn(4, 3), torch.randn(4, 2))


def test_contrastive_accuracy():
    z = torch.eye(4)
    assert float(contrastive_accuracy(z, z)) == 1.0
    assert float(contrastive_accuracy(z, z.roll(1, 0))) == 0.0
