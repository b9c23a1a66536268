"""ReFixMatch: FixMatch on confident pseudo-labels plus KL to the weak prediction below the threshold."""

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.fixmatch import FixMatch
from semisup.algorithms.refixmatch import ReFixMatch

CTX = StepContext(step=5, total_steps=10)


def test_refixmatch_defaults_and_validation():
    cfg = ReFixMatch.Config()
    assert (cfg.threshold, cfg.lambda_u, cfg.T) == (0.95, 1.0, 1.0) and "2308.07509" in ReFixMatch.paper
    with pytest.raises(ValueError, match="refixmatch.threshold must be in"):
        ReFixMatch(ReFixMatch.Config(threshold=2.0), C)
    with pytest.raises(ValueError, match="refixmatch.T must be > 0"):
        ReFixMatch(ReFixMatch.Config(T=-1.0), C)


def test_refixmatch_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    tau, T = 0.355, 0.5
    with torch.no_grad():
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
        lw, logp_s = model(batch.u_views[0]), F.log_softmax(model(batch.u_views[1]), -1)
    q, q_t = torch.softmax(lw, -1), torch.softmax(lw / T, -1)
    terms = []
    for i in range(len(q)):
        if q[i].max() >= tau:  # confident: hard pseudo-label
            terms.append(-logp_s[i, q[i].argmax()])
        else:  # below the threshold: KL(q̃ ‖ p_s)
            terms.append((q_t[i] * (q_t[i].log() - logp_s[i])).sum())
    mask = (q.max(-1).values >= tau).float()
    assert 0 < mask.sum() < len(mask)
    loss, logs = ReFixMatch(ReFixMatch.Config(threshold=tau, T=T), C).training_step(model, batch, CTX)
    assert torch.allclose(loss, sup + torch.stack(terms).mean(), atol=1e-6)
    low = torch.stack([t for t, m in zip(terms, mask, strict=True) if m == 0]).sum() / len(q)
    assert torch.allclose(logs["train/low_conf_loss"], low, atol=1e-6)


def test_with_nothing_below_the_threshold_it_is_fixmatch():
    model, batch = net_and_batch(seed=1)
    re_loss, _ = ReFixMatch(ReFixMatch.Config(threshold=0.0), C).training_step(model, batch, CTX)
    fix_loss, _ = FixMatch(FixMatch.Config(threshold=0.0), C).training_step(model, batch, CTX)
    assert torch.allclose(re_loss, fix_loss, atol=1e-6)


def unsup_gradient(algo, seed: int = 2) -> tuple[torch.Tensor, float]:
    """The gradient of the loss minus that of its supervised term alone, and the unsupervised loss."""
    model, batch = net_and_batch(seed)
    loss, logs = algo.training_step(model, batch, CTX)
    total = torch.autograd.grad(loss, list(model.parameters()))
    sup = torch.autograd.grad(F.cross_entropy(model(batch.x_lb), batch.y_lb), list(model.parameters()))
    diff = torch.cat([(a - b).flatten() for a, b in zip(total, sup, strict=True)])
    return diff, float(logs["train/unsup_loss"])


def test_low_confidence_examples_train_where_fixmatch_discards_them():
    """At τ = 1 FixMatch's unlabeled term is 0 with no gradient; ReFixMatch's still moves the model."""
    g_fix, u_fix = unsup_gradient(FixMatch(FixMatch.Config(threshold=1.0), C))
    g_re, u_re = unsup_gradient(ReFixMatch(ReFixMatch.Config(threshold=1.0), C))
    assert u_fix == 0.0 and g_fix.abs().max() < 1e-7
    assert u_re > 0 and g_re.abs().max() > 1e-4
