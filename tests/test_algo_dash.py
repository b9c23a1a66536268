"""Dash: labeled-only warm-up, ρ̂ from the warmed-up model, and a loss threshold decaying by stage."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.dash import Dash
from semisup.algorithms.fixmatch import FixMatch


def test_dash_defaults_and_validation():
    cfg = Dash.Config()
    assert (cfg.C, cfg.gamma, cfg.rho_min, cfg.hard_label) == (1.0001, 1.27, 0.05, True)
    assert cfg.warmup == 2048 / 2**20 and cfg.decay_every == 10 / 1024 and "2109.00650" in Dash.paper
    with pytest.raises(ValueError, match="dash.warmup must be in"):
        Dash(Dash.Config(warmup=2.0), C)
    with pytest.raises(ValueError, match="gamma must be > 1"):
        Dash(Dash.Config(gamma=0.9), C)


def test_stages_follow_the_warmup_and_decay_fractions():
    algo = Dash(Dash.Config(warmup=0.1, decay_every=0.05), C)
    stages = {s: algo.stage(StepContext(s, 1000)) for s in (0, 99, 100, 149, 150, 999)}
    assert stages == {0: None, 99: None, 100: 1, 149: 1, 150: 2, 999: 18}


def test_warmup_is_supervised_only_and_leaves_rho_hat_unset():
    model, batch = net_and_batch()
    nan_views = tuple(torch.full_like(v, float("nan")) for v in batch.u_views)  # never read
    algo = Dash(Dash.Config(warmup=0.5), C)
    loss, logs = algo.training_step(model, dataclasses.replace(batch, u_views=nan_views), StepContext(3, 10))
    with torch.no_grad():
        assert torch.allclose(loss, F.cross_entropy(model(batch.x_lb), batch.y_lb))
    assert float(logs["train/unsup_loss"]) == 0.0 and not bool(algo.loss_threshold.estimated)


def test_first_selection_step_sets_rho_hat_and_matches_hand_computation():
    model, batch = net_and_batch()
    algo = Dash(Dash.Config(warmup=0.5, decay_every=0.1, C=1.2, gamma=2.0, rho_min=0.0), C)
    with torch.no_grad():
        ce_lb = F.cross_entropy(model(batch.x_lb), batch.y_lb, reduction="none")
        q, logp_s = torch.softmax(model(batch.u_views[0]), -1), F.log_softmax(model(batch.u_views[1]), -1)
    loss, logs = algo.training_step(model, batch, StepContext(5, 10))  # stage 1
    rho_hat = ce_lb.mean()
    assert torch.allclose(algo.loss_threshold.rho_hat, rho_hat)
    losses = -torch.log(q.max(-1).values)  # the hard pseudo-label's loss on the weak view

    def expected(rho):
        keep = losses <= rho
        unsup = sum(-logp_s[i, q[i].argmax()] for i in range(len(q)) if keep[i]) / len(q)
        return ce_lb.mean() + unsup, keep.float().mean()

    exp_loss, exp_ratio = expected(1.2 * rho_hat)
    assert torch.allclose(loss, exp_loss, atol=1e-6) and torch.allclose(logs["train/mask_ratio"], exp_ratio)
    # Two stages later (step 7: stage 3) with another labeled batch: ρ̂ kept, ρ = 1.2 ρ̂ / 4.
    other = dataclasses.replace(batch, x_lb=batch.x_lb + 1.0)
    loss3, logs3 = algo.training_step(model, other, StepContext(7, 10))
    assert torch.allclose(algo.loss_threshold.rho_hat, rho_hat)
    assert torch.allclose(logs3["train/rho"], 1.2 * rho_hat / 4)
    with torch.no_grad():
        sup3 = F.cross_entropy(model(other.x_lb), other.y_lb)
    assert torch.allclose(loss3, sup3 + expected(1.2 * rho_hat / 4)[0] - ce_lb.mean(), atol=1e-6)


def test_with_hard_labels_dash_is_fixmatch_at_threshold_exp_minus_rho():
    model, batch = net_and_batch(seed=3)
    dash = Dash(Dash.Config(warmup=0.0, decay_every=1.0, rho_min=0.0), C)
    loss_d, logs_d = dash.training_step(model, batch, StepContext(0, 10))
    tau = math.exp(-float(logs_d["train/rho"]))
    fix = FixMatch(FixMatch.Config(threshold=tau), C)
    loss_f, logs_f = fix.training_step(model, batch, StepContext(0, 10))
    assert torch.allclose(loss_d, loss_f, atol=1e-6)
    assert torch.allclose(logs_d["train/mask_ratio"], logs_f["train/mask_ratio"])
