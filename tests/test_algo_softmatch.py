"""SoftMatch against a transcription of the paper's equations; its limit is FixMatch."""

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.fixmatch import FixMatch
from semisup.algorithms.softmatch import SoftMatch

CTX = StepContext(step=5, total_steps=10)


def test_softmatch_paper_defaults_and_validation():
    cfg = SoftMatch.Config()
    assert (cfg.momentum, cfg.lambda_max, cfg.lambda_u, cfg.uniform_alignment) == (0.999, 1.0, 1.0, True)
    assert (cfg.n_sigma, cfg.hard_label) == (1.0, True)
    assert SoftMatch.unlabeled_views == ("weak", "strong") and "2301.10921" in SoftMatch.paper
    with pytest.raises(ValueError, match="n_sigma must be > 0"):
        SoftMatch(SoftMatch.Config(n_sigma=0.0), C)
    keys = set(SoftMatch(cfg, C).state_dict())
    assert {"weighting.mu", "weighting.var", "alignment.p_model"} <= keys
    assert not any(
        k.startswith("alignment")
        for k in SoftMatch(SoftMatch.Config(uniform_alignment=False), C).state_dict()
    )


def test_softmatch_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    m = 0.5  # far from the paper's 0.999 so that one step moves μ above some confidences
    algo = SoftMatch(SoftMatch.Config(momentum=m), C)
    loss, logs = algo.training_step(model, batch, CTX)

    with torch.no_grad():
        p = torch.softmax(model(batch.u_views[0]), -1)
        logits_s = model(batch.u_views[1])
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    p_hat = p.mean(0)  # the first alignment update copies the batch mean
    ua = p * (1 / C) / p_hat
    ua = ua / ua.sum(-1, keepdim=True)
    conf = ua.max(-1).values
    mu = m / C + (1 - m) * conf.mean()  # μ_0 = 1/C
    var = m * 1.0 + (1 - m) * conf.var(unbiased=True)  # σ_0² = 1
    w = torch.where(conf < mu, torch.exp(-((conf - mu) ** 2) / (2 * var)), torch.ones_like(conf))
    pl = p.argmax(-1)  # pseudo-labels from the unaligned prediction
    unsup = (F.cross_entropy(logits_s, pl, reduction="none") * w).mean()
    assert torch.allclose(loss, sup + unsup, atol=1e-6)
    assert torch.allclose(logs["train/mask_ratio"], w.mean())
    assert torch.allclose(logs["train/threshold_mean"], mu) and torch.allclose(
        logs["train/threshold_std"], var.sqrt()
    )
    assert (w < 1).any() and (w == 1).any()


def test_softmatch_with_a_frozen_narrow_gaussian_is_fixmatch():
    model, batch = net_and_batch(seed=1)
    with torch.no_grad():
        tau = float(torch.softmax(model(batch.u_views[0]), -1).max(-1).values.median())
    soft = SoftMatch(SoftMatch.Config(momentum=1.0, uniform_alignment=False), C)
    soft.weighting.mu.fill_(tau)
    soft.weighting.var.fill_(1e-12)  # λ(p) → 1(max p ≥ μ): a hard threshold at μ
    fix = FixMatch(FixMatch.Config(threshold=tau), C)
    (l_soft, logs_soft), (l_fix, logs_fix) = (
        soft.training_step(model, batch, CTX),
        fix.training_step(model, batch, CTX),
    )
    assert torch.allclose(l_soft, l_fix) and torch.allclose(
        logs_soft["train/mask_ratio"], logs_fix["train/mask_ratio"]
    )
    assert 0 < float(logs_fix["train/mask_ratio"]) < 1
