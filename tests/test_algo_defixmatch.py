"""DeFixMatch against a transcription of the paper's debiased loss."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.defixmatch import DeFixMatch

CTX = StepContext(step=5, total_steps=10)


def pl_loss(model, x_w, x_s, tau):
    """(1/n) Σ 1(max p(x_w) ≥ τ) · −log p(x_s)[argmax p(x_w)], written as a loop."""
    with torch.no_grad():
        p, logp_s = torch.softmax(model(x_w), -1), F.log_softmax(model(x_s), -1)
    total = sum(-logp_s[i, p[i].argmax()] for i in range(len(p)) if p[i].max() >= tau)
    return total / len(p)


def test_defixmatch_paper_defaults_and_validation():
    cfg = DeFixMatch.Config()
    assert (cfg.threshold, cfg.lambda_u, cfg.hard_label) == (0.95, 0.5, True)
    assert DeFixMatch.labeled_extra_views == ("strong",) and "2203.07512" in DeFixMatch.paper
    with pytest.raises(ValueError, match="defixmatch.threshold must be in"):
        DeFixMatch(DeFixMatch.Config(threshold=-0.1), C)
    with pytest.raises(ValueError, match="defixmatch.T must be > 0"):
        DeFixMatch(DeFixMatch.Config(T=0.0), C)


def test_defixmatch_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    batch = dataclasses.replace(batch, lb_views=(-batch.x_lb + 0.1,))
    tau = 0.355  # between the confidences of this untrained net: both masks are mixed
    algo = DeFixMatch(DeFixMatch.Config(threshold=tau), C)
    loss, logs = algo.training_step(model, batch, CTX)
    with torch.no_grad():
        sup = 0.5 * (
            F.cross_entropy(model(batch.x_lb), batch.y_lb)
            + F.cross_entropy(model(batch.lb_views[0]), batch.y_lb)
        )
    h_u = pl_loss(model, *batch.u_views, tau)
    h_x = pl_loss(model, batch.x_lb, batch.lb_views[0], tau)
    assert float(h_u) > 0 and float(h_x) > 0  # both terms active
    assert torch.allclose(loss, sup + 0.5 * (h_u - h_x), atol=1e-6)
    assert torch.allclose(logs["train/unsup_loss"], h_u) and torch.allclose(logs["train/debias_loss"], h_x)
    assert 0 < float(logs["train/mask_ratio"]) < 1 and 0 < float(logs["train/mask_ratio_lb"]) < 1


def test_debiasing_cancels_when_unlabeled_data_look_like_the_labeled():
    """Unlabeled views equal to the labeled ones: H(u) = H(x), the unlabeled term is exactly zero."""
    model, batch = net_and_batch(seed=1)
    x_s = -batch.x_lb
    same = dataclasses.replace(batch, u_views=(batch.x_lb, x_s), lb_views=(x_s,), u_index=None, u_true=None)
    loss, logs = DeFixMatch(DeFixMatch.Config(threshold=0.0), C).training_step(model, same, CTX)
    assert float(logs["train/unsup_loss"]) > 0
    assert torch.allclose(loss, logs["train/sup_loss"], atol=1e-6)
