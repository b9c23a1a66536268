"""FreeMatch against a transcription of the paper's equations; its limit is FixMatch."""

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.fixmatch import FixMatch
from semisup.algorithms.freematch import FreeMatch
from semisup.components import self_adaptive_fairness_loss

CTX = StepContext(step=5, total_steps=10)


def test_freematch_paper_defaults_and_validation():
    cfg = FreeMatch.Config()
    assert (cfg.momentum, cfg.lambda_u, cfg.lambda_f, cfg.hard_label) == (0.999, 1.0, 0.01, True)
    assert FreeMatch.unlabeled_views == ("weak", "strong") and "2205.07246" in FreeMatch.paper
    with pytest.raises(ValueError, match="momentum must be in"):
        FreeMatch(FreeMatch.Config(momentum=1.5), C)
    with pytest.raises(ValueError, match="freematch.T must be > 0"):
        FreeMatch(FreeMatch.Config(T=0.0), C)
    keys = set(FreeMatch(cfg, C).state_dict())
    assert {"adaptive_threshold.global_threshold", "adaptive_threshold.class_prob"} <= keys


def test_freematch_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    algo = FreeMatch(FreeMatch.Config(momentum=0.9), C)
    loss, logs = algo.training_step(model, batch, CTX)

    with torch.no_grad():
        q = torch.softmax(model(batch.u_views[0]), -1)
        logits_s = model(batch.u_views[1])
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    conf, pl = q.max(-1)
    tau = 0.9 / C + 0.1 * conf.mean()  # τ_0 = 1/C
    p_tilde = 0.9 / C + 0.1 * q.mean(0)  # p̃_0 = 1/C
    h_tilde = 0.9 / C + 0.1 * torch.bincount(pl, minlength=C).float() / len(pl)
    tau_c = p_tilde / p_tilde.max() * tau
    mask = (conf >= tau_c[pl]).float()
    assert 0 < mask.sum() < len(mask)
    unsup = (F.cross_entropy(logits_s, pl, reduction="none") * mask).mean()
    fair = self_adaptive_fairness_loss(logits_s, mask, p_tilde, h_tilde)
    assert torch.allclose(loss, sup + unsup + 0.01 * fair, atol=1e-6)
    assert torch.allclose(logs["train/threshold_global"], tau)
    assert torch.allclose(logs["train/threshold_mean"], tau_c.mean())
    assert torch.allclose(logs["train/fair_loss"], fair) and float(fair) != 0.0
    assert torch.allclose(algo.adaptive_threshold.label_hist, h_tilde)


def test_freematch_with_a_frozen_uniform_state_is_fixmatch():
    model, batch = net_and_batch(seed=1)
    with torch.no_grad():
        tau = float(torch.softmax(model(batch.u_views[0]), -1).max(-1).values.median())
    free = FreeMatch(FreeMatch.Config(momentum=1.0, lambda_f=0.0), C)
    free.adaptive_threshold.global_threshold.fill_(tau)  # p̃ stays uniform: τ_t(c) = τ_t for every class
    fix = FixMatch(FixMatch.Config(threshold=tau), C)
    (l_free, logs_free), (l_fix, logs_fix) = (
        free.training_step(model, batch, CTX),
        fix.training_step(model, batch, CTX),
    )
    assert torch.allclose(l_free, l_fix) and torch.allclose(
        logs_free["train/mask_ratio"], logs_fix["train/mask_ratio"]
    )
    assert 0 < float(logs_fix["train/mask_ratio"]) < 1
