"""Contract tests over the algorithm registry: a new algorithm is checked by adding it, nothing else."""

from __future__ import annotations

import copy

import pytest
import torch

from semisup.algorithms.base import StepContext
from semisup.components.ema import EMA
from semisup.config import AugmentConfig
from semisup.data.batch import Batch
from semisup.data.views import make_views
from semisup.nets.build import build_net, with_standardize
from semisup.registry import ALGORITHMS

C, D, B, MU = 3, 6, 8, 2
SSL = [n for n in ALGORITHMS.names() if ALGORITHMS.get(n).unlabeled_views]


def make(name: str, seed: int = 0):
    torch.manual_seed(seed)
    cls = ALGORITHMS.get(name)
    algo = cls(cls.Config(**cls.contract_overrides), C, n_unlabeled=64)
    X = torch.randn(64, D)
    model = with_standardize(build_net("mlp", (D,), C), X, "vector")
    algo.attach(model)
    return algo, model


def make_batch(algo, seed: int = 0, u_seed: int | None = None) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x_lb, y_lb = torch.randn(B, D, generator=g), torch.arange(B) % C
    u = torch.randn(B * MU, D, generator=torch.Generator().manual_seed(seed if u_seed is None else u_seed))
    views = make_views("vector", AugmentConfig(), torch.ones(D))
    torch.manual_seed(seed)  # the labeled views follow seed only: u_seed changes the unlabeled side alone
    lb_views = tuple(views[v](x_lb) for v in algo.labeled_extra_views)
    torch.manual_seed(seed if u_seed is None else u_seed)
    u_views = tuple(views[v](u) for v in algo.unlabeled_views)
    return Batch(x_lb, y_lb, u_views, torch.arange(B * MU), torch.arange(B * MU) % C, lb_views)


CTX = StepContext(step=5, total_steps=10)


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_one_step_finite_loss_and_known_log_names(name):
    algo, model = make(name)
    loss, logs = algo.training_step(model, make_batch(algo), CTX)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert "train/sup_loss" in logs
    if algo.uses_unlabeled:
        assert "train/unsup_loss" in logs
        # A self-supervised objective (simclr) makes no pseudo-labels: nothing to score against u_true.
        assert algo.self_supervised or "train/pseudo_acc" in logs
    allowed = {
        "train/sup_loss",
        "train/unsup_loss",
        "train/mask_ratio",
        "train/pseudo_acc",
        "train/unsup_weight",
    }
    assert set(logs) <= allowed | {k for k in logs if k.startswith("train/")}


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_every_parameter_gets_a_gradient_and_ema_and_teacher_none(name):
    algo, model = make(name)
    ema = EMA(model, 0.99)
    loss, _ = algo.training_step(model, make_batch(algo), CTX)
    loss.backward()
    for n, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"{name}: no gradient for {n}"
    assert all(p.grad is None for p in ema.parameters())
    # state the algorithm keeps (teachers, memories) is never trained by backprop
    assert all(p.grad is None for p in algo.parameters())


@pytest.mark.parametrize("name", SSL)
def test_unsupervised_term_depends_on_unlabeled_views(name):
    algo, model = make(name)
    model.eval()  # isolate the effect of the views from BN batch statistics
    _, logs_a = algo.training_step(model, make_batch(algo, u_seed=1), CTX)
    _, logs_b = algo.training_step(model, make_batch(algo, u_seed=2), CTX)
    assert logs_a["train/sup_loss"] == logs_b["train/sup_loss"]
    assert logs_a["train/unsup_loss"] != logs_b["train/unsup_loss"]
    assert float(logs_a["train/unsup_loss"]) > 0


@pytest.mark.parametrize("name", SSL)
def test_unsupervised_gradient_reaches_the_student(name):
    """Loss gradients change with the unlabeled inputs (catches a student reading a teacher's output)."""
    grads = []
    for u_seed in (1, 2):
        algo, model = make(name)
        model.eval()
        loss, _ = algo.training_step(model, make_batch(algo, u_seed=u_seed), CTX)
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert not torch.allclose(grads[0], grads[1])


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_same_seed_same_loss(name):
    losses = []
    for _ in range(2):
        algo, model = make(name, seed=3)
        loss, _ = algo.training_step(model, make_batch(algo, seed=3), CTX)
        losses.append(loss.item())
    assert losses[0] == losses[1]


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_state_save_load_next_step_identical(name, tmp_path):
    algo, model = make(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss, _ = algo.training_step(model, make_batch(algo, seed=1), CTX)
    loss.backward()
    opt.step()
    algo.after_step(model)
    torch.save({"algo": algo.state_dict(), "model": model.state_dict()}, tmp_path / "s.pt")

    algo2, model2 = make(name, seed=99)
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    algo2.load_state_dict(state["algo"])
    model2.load_state_dict(state["model"])
    nxt = StepContext(step=6, total_steps=10)
    la, _ = algo.training_step(model, make_batch(algo, seed=2), nxt)
    lb, _ = algo2.training_step(model2, make_batch(algo2, seed=2), nxt)
    assert la.item() == lb.item()


def test_fixmatch_matches_hand_computation():
    """FixMatch loss against a direct transcription of the paper's equations on a fixed batch."""
    algo, model = make("fixmatch")
    algo.cfg = type(algo.cfg)(threshold=0.4)
    model.eval()
    batch = make_batch(algo, seed=4)
    loss, logs = algo.training_step(model, batch, CTX)
    u_w, u_s = batch.u_views
    with torch.no_grad():
        ls = torch.nn.functional.log_softmax(model(batch.x_lb), -1)
        sup = -ls[torch.arange(B), batch.y_lb].mean()
        p = torch.softmax(model(u_w), -1)
        conf, pl = p.max(-1)
        lq = torch.nn.functional.log_softmax(model(u_s), -1)
        unsup = sum(-(lq[i, pl[i]]) for i in range(len(pl)) if conf[i] >= 0.4) / len(pl)
    assert torch.allclose(loss, sup + unsup, atol=1e-5)
    assert torch.allclose(logs["train/mask_ratio"], (conf >= 0.4).float().mean())


def test_supervised_ignores_unlabeled():
    algo, model = make("supervised")
    assert algo.unlabeled_views == ()
    loss, logs = algo.training_step(model, Batch(torch.randn(B, D), torch.arange(B) % C), CTX)
    assert set(logs) == {"train/sup_loss"}


def test_ema_update_is_the_analytic_average():
    m = torch.nn.Linear(2, 1)
    ema = EMA(m, 0.9)
    ema.num_updates.fill_(1000)  # past the warm-up: d = 0.9
    before = copy.deepcopy(ema.module.weight.detach())
    with torch.no_grad():
        m.weight.add_(1.0)
    ema.update(m)
    assert torch.allclose(ema.module.weight, 0.9 * before + 0.1 * m.weight.detach())
    # warm-up: the first update uses d = 1/10
    fresh = EMA(m, 0.999)
    assert fresh.current_decay() == 0.1 and int(fresh.num_updates) == 0
