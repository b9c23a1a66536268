"""AdaMatch against a transcription of the authors' SSL loss (without random logit interpolation)."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.adamatch import AdaMatch, cosine_warmup
from semisup.algorithms.base import StepContext


def with_labeled_strong(batch):
    return dataclasses.replace(batch, lb_views=(-batch.x_lb,))


def test_adamatch_paper_defaults_and_validation():
    cfg = AdaMatch.Config()
    assert (cfg.threshold, cfg.lambda_u, cfg.warmup, cfg.momentum, cfg.window) == (0.9, 1.0, 0.5, 0.999, 128)
    assert AdaMatch.default_mu == 3 and AdaMatch.labeled_extra_views == ("strong",)
    assert "2106.04732" in AdaMatch.paper
    with pytest.raises(ValueError, match="adamatch.threshold must be in"):
        AdaMatch(AdaMatch.Config(threshold=1.5), C)
    with pytest.raises(ValueError, match="adamatch.warmup must be in"):
        AdaMatch(AdaMatch.Config(warmup=-0.1), C)
    with pytest.raises(ValueError, match="strong view of the labeled batch"):
        model, batch = net_and_batch()
        AdaMatch(cfg, C).training_step(model, batch, StepContext(0, 10))


def test_cosine_warmup_is_the_papers_schedule():
    assert cosine_warmup(0.0, 0.5) == 0.0 and cosine_warmup(0.5, 0.5) == cosine_warmup(0.9, 0.5) == 1.0
    assert cosine_warmup(0.25, 0.5) == pytest.approx(0.5) and cosine_warmup(0.0, 0.0) == 1.0
    t = 0.1  # μ(t) = 1/2 − cos(min(π, 2πt))/2 for length 1/2
    assert cosine_warmup(t, 0.5) == pytest.approx(0.5 - math.cos(2 * math.pi * t) / 2)


def test_adamatch_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    batch = with_labeled_strong(batch)
    with torch.no_grad():
        px, pu = torch.softmax(model(batch.x_lb), -1), torch.softmax(model(batch.u_views[0]), -1)
        logits_s, logits_xs = model(batch.u_views[1]), model(batch.lb_views[0])
        sup = 0.5 * (F.cross_entropy(model(batch.x_lb), batch.y_lb) + F.cross_entropy(logits_xs, batch.y_lb))
    m = 0.9  # EMA of the labeled marginal; a window of 2 batches for the unlabeled one, one slot filled
    p_lab = m / C + (1 - m) * px.mean(0)
    p_unl = (torch.full((C,), 1 / C) + pu.mean(0)) / 2
    aligned = pu * (p_lab + 1e-6) / (p_unl + 1e-6)
    aligned = aligned / aligned.sum(1, keepdim=True)
    conf, pl = aligned.max(-1)
    tau = float(conf.median()) / float(px.max(-1).values.mean())  # so that about half pass
    c_tau = tau * px.max(-1).values.mean()
    mask = (conf >= c_tau).float()
    assert 0 < mask.sum() < len(mask)
    unsup = (F.cross_entropy(logits_s, pl, reduction="none") * mask).mean()

    algo = AdaMatch(AdaMatch.Config(threshold=tau, momentum=m, window=2), C)
    loss, logs = algo.training_step(model, batch, StepContext(step=25, total_steps=100))  # μ(t) = 1/2
    assert torch.allclose(loss, sup + 0.5 * unsup, atol=1e-6)
    assert logs["train/unsup_weight"] == pytest.approx(0.5)
    assert torch.allclose(logs["train/threshold"], c_tau)
    assert torch.allclose(logs["train/mask_ratio"], mask.mean())


def test_adamatch_threshold_follows_the_labeled_confidence():
    """The same unlabeled batch passes fewer pseudo-labels when the model is surer on labeled data."""
    model, batch = net_and_batch(seed=2)
    batch = with_labeled_strong(batch)
    ratios = []
    for scale in (1.0, 50.0):  # a labeled batch far from the origin: near one-hot predictions
        b = dataclasses.replace(batch, x_lb=batch.x_lb * scale)
        algo = AdaMatch(AdaMatch.Config(threshold=0.9, momentum=1.0), C)  # frozen marginals: no alignment
        _, logs = algo.training_step(model, b, StepContext(step=50, total_steps=100))
        ratios.append((float(logs["train/threshold"]), float(logs["train/mask_ratio"])))
    (t_low, r_low), (t_high, r_high) = ratios
    assert t_high > t_low and r_high <= r_low and r_low > 0
