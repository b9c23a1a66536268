"""The stateful components against hand-computed values on tiny tensors, and their checkpoint state."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from semisup.algorithms.base import StepContext
from semisup.collective import Collective
from semisup.components import (
    ClasswiseLearningStatus,
    DistributionAlignment,
    SelfAdaptiveThreshold,
    TruncatedGaussianWeights,
    convex_mapping,
    self_adaptive_fairness_loss,
)
from semisup.data.batch import Batch
from semisup.nets.build import build_net
from semisup.registry import ALGORITHMS

# ---- FlexMatch: class-wise learning status ------------------------------------------------------------


def test_convex_mapping_values():
    assert torch.allclose(convex_mapping(torch.tensor([0.0, 0.5, 1.0])), torch.tensor([0.0, 1 / 3, 1.0]))


def status_with(selected: list[int], warmup: bool = True) -> ClasswiseLearningStatus:
    s = ClasswiseLearningStatus(3, len(selected), warmup)
    s.selected.copy_(torch.tensor(selected))
    return s


def test_learning_status_thresholds_by_hand():
    s = status_with([0, 0, 0, 1, 1, 2, -1, -1, -1, -1])  # σ = (3, 2, 1), 4 unused
    assert s.sigma().tolist() == [3, 2, 1]
    # warm-up: β = σ / max(max σ, N − Σσ) = σ / 4
    assert torch.allclose(s.beta(), torch.tensor([0.75, 0.5, 0.25]))
    m = torch.tensor([0.75 / 1.25, 0.5 / 1.5, 0.25 / 1.75])
    assert torch.allclose(s.thresholds(0.95), m * 0.95)
    # without warm-up: β = σ / max σ
    s = status_with([0, 0, 0, 1, 1, 2, -1, -1, -1, -1], warmup=False)
    assert torch.allclose(s.beta(), torch.tensor([1.0, 2 / 3, 1 / 3]))


def test_learning_status_limits():
    assert torch.equal(ClasswiseLearningStatus(3, 5).thresholds(0.95), torch.zeros(3))  # nothing learned
    assert torch.equal(ClasswiseLearningStatus(3, 5, warmup=False).beta(), torch.zeros(3))
    full = status_with([0, 1, 2] * 3)  # every class equally learned, no example unused
    assert torch.allclose(full.thresholds(0.95), torch.full((3,), 0.95))


def test_learning_status_update_keeps_unconfident_entries():
    s = status_with([2, -1, 1, -1])
    s.update(torch.tensor([0, 1, 3]), torch.tensor([0, 1, 2]), torch.tensor([True, False, True]))
    assert s.selected.tolist() == [0, -1, 1, 2]


def test_learning_status_validation():
    with pytest.raises(ValueError, match="n_unlabeled must be >= 1"):
        ClasswiseLearningStatus(3, 0)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        ClasswiseLearningStatus(0, 4)


# ---- FreeMatch: self-adaptive thresholds and fairness ------------------------------------------------


def test_self_adaptive_threshold_one_update_by_hand():
    sat = SelfAdaptiveThreshold(2, momentum=0.5)
    assert float(sat.global_threshold) == 0.5 and sat.class_prob.tolist() == [0.5, 0.5]
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45]])
    sat.update(probs)
    tau = 0.5 * 0.5 + 0.5 * (0.9 + 0.8 + 0.55) / 3  # 0.625
    p_tilde = 0.5 * torch.tensor([0.5, 0.5]) + 0.5 * torch.tensor([0.55, 0.45])
    h_tilde = 0.5 * torch.tensor([0.5, 0.5]) + 0.5 * torch.tensor([2 / 3, 1 / 3])
    assert torch.allclose(sat.global_threshold, torch.tensor(tau))
    assert torch.allclose(sat.class_prob, p_tilde) and torch.allclose(sat.label_hist, h_tilde)
    tau_c = p_tilde / p_tilde.max() * tau  # (0.625, 0.5655)
    assert torch.allclose(sat.thresholds(), tau_c)
    assert sat.mask(probs).tolist() == [1.0, 1.0, 0.0]


def test_self_adaptive_threshold_uniform_class_prob_is_a_global_threshold():
    sat = SelfAdaptiveThreshold(4, momentum=1.0)  # frozen
    sat.global_threshold.fill_(0.7)
    sat.update(torch.softmax(torch.randn(5, 4), -1))
    assert torch.allclose(sat.thresholds(), torch.full((4,), 0.7))


def fairness_by_hand(logits_s, mask, p_tilde, h_tilde):
    """USB's transcription: select the kept rows, then the modulated means."""
    keep = logits_s[mask.bool()].softmax(-1)
    hist = torch.bincount(keep.argmax(-1), minlength=logits_s.shape[1]).float()
    hist = hist / hist.sum()
    inv = lambda x: torch.nan_to_num(1 / x, nan=0.0, posinf=0.0)  # noqa: E731
    target = p_tilde * inv(h_tilde)
    target = target / target.sum()
    pred = keep.mean(0) * inv(hist)
    pred = pred / pred.sum()
    return (target * torch.log(pred + 1e-12)).sum()


def test_fairness_loss_by_hand_and_its_gradient():
    torch.manual_seed(0)
    logits = torch.randn(6, 3, requires_grad=True)
    mask = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    p_tilde, h_tilde = torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.4, 0.4, 0.2])
    loss = self_adaptive_fairness_loss(logits, mask, p_tilde, h_tilde)
    assert torch.allclose(loss, fairness_by_hand(logits.detach(), mask, p_tilde, h_tilde), atol=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[mask.bool()].abs().sum() > 0
    assert torch.equal(logits.grad[~mask.bool()], torch.zeros(2, 3))  # dropped rows get nothing


def test_fairness_loss_is_zero_for_an_empty_mask():
    logits = torch.randn(4, 3, requires_grad=True)
    loss = self_adaptive_fairness_loss(
        logits, torch.zeros(4), torch.full((3,), 1 / 3), torch.full((3,), 1 / 3)
    )
    loss.backward()
    assert float(loss.detach()) == 0.0 and torch.equal(logits.grad, torch.zeros(4, 3))


# ---- SoftMatch: truncated Gaussian weights and distribution alignment ----------------------------------


def test_truncated_gaussian_weights_by_hand():
    g = TruncatedGaussianWeights(3)
    g.mu.fill_(0.6)
    g.var.fill_(0.04)
    w = g(torch.tensor([0.9, 0.6, 0.4, 0.2]))
    by_hand = [1.0, 1.0, math.exp(-(0.2**2) / (2 * 0.04)), math.exp(-(0.4**2) / (2 * 0.04))]
    assert torch.allclose(w, torch.tensor(by_hand))
    g2 = TruncatedGaussianWeights(3, lambda_max=0.5, n_sigma=2.0)  # USB's width: σ/2
    g2.load_state_dict(g.state_dict())
    assert torch.allclose(g2(torch.tensor([0.4])), torch.tensor([0.5 * math.exp(-(0.2**2) / (2 * 0.01))]))


def test_truncated_gaussian_one_update_by_hand():
    g = TruncatedGaussianWeights(2, momentum=0.9)
    assert float(g.mu) == 0.5 and float(g.var) == 1.0
    g.update(torch.tensor([0.5, 0.7, 0.9]))  # mean 0.7, unbiased var (0.04 + 0 + 0.04) / 2
    assert torch.allclose(g.mu, torch.tensor(0.9 * 0.5 + 0.1 * 0.7))
    assert torch.allclose(g.var, torch.tensor(0.9 * 1.0 + 0.1 * 0.04))
    g.update(torch.tensor([0.8]))  # a single example has no variance: the EMA decays toward 0
    assert torch.allclose(g.var, torch.tensor(0.9 * (0.9 + 0.1 * 0.04)))


def test_gaussian_with_no_spread_is_a_hard_threshold():
    g = TruncatedGaussianWeights(3, momentum=1.0)
    g.mu.fill_(0.5)
    g.var.fill_(1e-12)
    assert g(torch.tensor([0.9, 0.5, 0.45, 0.1])).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_distribution_alignment_by_hand():
    da = DistributionAlignment(3, momentum=0.9, eps=0.0)
    p1 = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]])
    da.update(p1)  # the first update copies the batch mean
    assert torch.allclose(da.p_model, torch.tensor([0.6, 0.25, 0.15]))
    p2 = torch.tensor([[0.2, 0.2, 0.6]])
    da.update(p2)
    p_hat = 0.9 * torch.tensor([0.6, 0.25, 0.15]) + 0.1 * p2[0]
    assert torch.allclose(da.p_model, p_hat)
    out = da.align(p1)
    by_hand = p1 * (1 / 3) / p_hat
    assert torch.allclose(out, by_hand / by_hand.sum(-1, keepdim=True))
    assert torch.allclose(out.sum(-1), torch.ones(2))


def test_distribution_alignment_to_a_given_target():
    da = DistributionAlignment(2, target=torch.tensor([0.25, 0.75]), eps=0.0)
    p = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    da.update(p)  # p̂ = (0.7, 0.3)
    r = torch.tensor([0.25 / 0.7, 0.75 / 0.3])
    assert torch.allclose(da.align(p), (p * r) / (p * r).sum(-1, keepdim=True))
    with pytest.raises(ValueError, match="target must be a distribution"):
        DistributionAlignment(2, target=torch.tensor([0.5, 0.6]))


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: SelfAdaptiveThreshold(3, momentum=1.5), "momentum"),
        (lambda: TruncatedGaussianWeights(3, momentum=-0.1), "momentum"),
        (lambda: TruncatedGaussianWeights(3, n_sigma=0.0), "n_sigma"),
        (lambda: TruncatedGaussianWeights(3, lambda_max=0.0), "lambda_max"),
        (lambda: DistributionAlignment(3, momentum=2.0), "momentum"),
    ],
)
def test_components_validate_eagerly(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


# ---- state: checkpoints and device reads -----------------------------------------------------------------


def fed(component, seed):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(torch.randn(8, 3, generator=g), -1)
    if isinstance(component, ClasswiseLearningStatus):
        component.update(torch.randperm(10, generator=g)[:8], probs.argmax(-1), probs.max(-1).values > 0.4)
    elif isinstance(component, TruncatedGaussianWeights):
        component.update(probs.max(-1).values)
    else:
        component.update(probs)
    return component


@pytest.mark.parametrize(
    "make",
    [
        lambda: ClasswiseLearningStatus(3, 10),
        lambda: SelfAdaptiveThreshold(3, momentum=0.5),
        lambda: TruncatedGaussianWeights(3, momentum=0.5),
        lambda: DistributionAlignment(3, momentum=0.5),
    ],
)
def test_state_survives_save_and_load_exactly(make, tmp_path):
    a = make()
    for seed in range(3):
        fed(a, seed)
    torch.save(a.state_dict(), tmp_path / "c.pt")
    b = make()
    b.load_state_dict(torch.load(tmp_path / "c.pt", weights_only=True))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    fed(a, 7), fed(b, 7)  # and they keep evolving identically
    assert all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize("name", ["flexmatch", "freematch", "softmatch"])
def test_training_step_never_reads_a_device_value(name):
    """On the meta device any .item(), bool(tensor) or data-dependent shape raises: no host sync."""
    cls = ALGORITHMS.get(name)
    algo = cls(cls.Config(), 3, n_unlabeled=32).to("meta")
    model = build_net("mlp", (6,), 3).to("meta")
    ids = torch.zeros(16, dtype=torch.long, device="meta")
    u = torch.empty(16, 6, device="meta")
    batch = Batch(torch.empty(8, 6, device="meta"), ids[:8], (u, u), ids, ids)
    loss, logs = algo.training_step(model, batch, StepContext(0, 10))
    loss.backward()
    assert loss.device.type == "meta" and "train/mask_ratio" in logs


# ---- under DDP: state from the global batch --------------------------------------------------------------


class ThreadRanks(Collective):
    """W ranks simulated by W threads in one process: ``all_gather`` and ``all_reduce`` meet at a barrier.
    A test double for ``FabricCollective`` (values only; no gradient through the gather)."""

    def __init__(self, slots: list, barrier: threading.Barrier, rank: int) -> None:
        self.slots, self.barrier, self.rank, self.world_size = slots, barrier, rank, len(slots)

    def _exchange(self, t: torch.Tensor) -> list[torch.Tensor]:
        self.slots[self.rank] = t.detach().clone()
        self.barrier.wait()
        every = list(self.slots)
        self.barrier.wait()  # nobody overwrites a slot before every rank has read them all
        return every

    def all_gather(self, t: torch.Tensor, grad: bool = False) -> torch.Tensor:
        return torch.cat(self._exchange(t))

    def all_reduce(self, t: torch.Tensor, op: str = "sum") -> torch.Tensor:
        total = torch.stack(self._exchange(t)).sum(0)
        return total / self.world_size if op == "mean" else total


def step_on_ranks(algos: list, model, whole: Batch, step: int) -> list[torch.Tensor]:
    """One training step of W ranks (threads), rank r on the r-th of W equal slices of ``whole``."""
    w, n_lb, n_u = len(algos), whole.n_lb // len(algos), whole.n_ulb // len(algos)
    slots, barrier, losses = [None] * w, threading.Barrier(w), [torch.zeros(())] * w

    def run(r: int) -> None:
        lb, ub = slice(n_lb * r, n_lb * (r + 1)), slice(n_u * r, n_u * (r + 1))
        views = tuple(v[ub] for v in whole.u_views)
        part = Batch(whole.x_lb[lb], whole.y_lb[lb], views, whole.u_index[ub], whole.u_true[ub])
        ctx = StepContext(step, 10, ThreadRanks(slots, barrier, r))
        losses[r] = algos[r].training_step(model, part, ctx)[0]

    threads = [threading.Thread(target=run, args=(r,)) for r in range(w)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return losses


STATEFUL = {
    "flexmatch": {"threshold": 0.5},
    "freematch": {"momentum": 0.5},
    "softmatch": {"momentum": 0.5},
    "temporal_ensembling": {},
    "uda": {"tsa": "linear"},
}


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_ranks_update_state_from_the_global_batch(name):
    """Two simulated ranks, each stepping on its half of the batch, end with the state of one process
    stepping on the whole batch, and the mean of their losses is its loss (DDP averages gradients)."""
    cls, W, n_pool, C = ALGORITHMS.get(name), 2, 40, 3
    make = lambda: cls(cls.Config(**STATEFUL[name]), C, n_unlabeled=n_pool)  # noqa: E731
    one, ranks = make(), [make() for _ in range(W)]
    model = torch.nn.Linear(4, C)
    g = torch.Generator().manual_seed(0)
    for step in range(3):
        x_lb, y_lb = torch.randn(W * 4, 4, generator=g), torch.randint(0, C, (W * 4,), generator=g)
        u = torch.randn(W * 8, 4, generator=g)
        idx = torch.randperm(n_pool, generator=g)[: W * 8]
        whole = Batch(x_lb, y_lb, tuple(u + 0.1 * k for k in range(len(cls.unlabeled_views))), idx, idx % C)
        loss_one = one.training_step(model, whole, StepContext(step, 10))[0]
        losses = step_on_ranks(ranks, model, whole, step)
        assert torch.stack(losses).mean().item() == pytest.approx(loss_one.item(), rel=1e-5, abs=1e-6)
    for r in range(W):
        for (k, a), b in zip(one.state_dict().items(), ranks[r].state_dict().values(), strict=True):
            torch.testing.assert_close(b, a, msg=lambda m, k=k: f"{name}.{k}: {m}")
