"""SequenceMatch against a transcription of its loss; its medium-free limit is FixMatch."""

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.sequencematch import SequenceMatch
from semisup.data.batch import Batch
from semisup.nets.build import build_net

C, D, B, MU = 3, 6, 8, 2
CTX = StepContext(step=5, total_steps=10)


def net_and_views(seed: int = 0):
    torch.manual_seed(seed)
    model = build_net("mlp", (D,), C).eval()
    u = torch.randn(B * MU, D)
    views = (u + 0.1 * torch.randn_like(u), u + 0.5 * torch.randn_like(u), -u)  # weak, medium, strong
    batch = Batch(
        torch.randn(B, D), torch.arange(B) % C, views, torch.arange(B * MU), torch.arange(B * MU) % C
    )
    return model, batch


def kl(target_logits: torch.Tensor, logits: torch.Tensor, T: float) -> torch.Tensor:
    q = torch.softmax(target_logits / T, -1)
    return (q * (q.log() - torch.log_softmax(logits, -1))).sum(-1)


def test_sequencematch_defaults_views_and_validation():
    cfg = SequenceMatch.Config()
    assert (cfg.threshold, cfg.lambda_u, cfg.T, cfg.hard_label) == (0.95, 1.0, 0.5, True)
    assert SequenceMatch.unlabeled_views == ("weak", "medium", "strong")
    assert "2310.15787" in SequenceMatch.paper
    with pytest.raises(ValueError, match="sequencematch.threshold must be in"):
        SequenceMatch(SequenceMatch.Config(threshold=2.0), C)
    with pytest.raises(ValueError, match="sequencematch.T must be > 0"):
        SequenceMatch(SequenceMatch.Config(T=0.0), C)


def test_sequencematch_matches_hand_computation():
    model, batch = net_and_views()
    with torch.no_grad():
        lw, lm, ls = (model(v) for v in batch.u_views)
        pw, pm = torch.softmax(lw, -1), torch.softmax(lm, -1)
    tau = float(pw.max(-1).values.median())
    algo = SequenceMatch(SequenceMatch.Config(threshold=tau, lambda_u=0.7), C)
    loss, logs = algo.training_step(model, batch, CTX)

    mw, mm = (pw.max(-1).values >= tau).float(), (pm.max(-1).values >= tau).float()
    assert 0 < mw.sum() < len(mw) and not torch.equal(mw, mm)  # both masks are exercised
    n = B * MU
    pl = sum(mw[i] * F.cross_entropy(ls[i : i + 1], pw[i : i + 1].argmax(-1)) for i in range(n)) / n
    kl_mw = (mw * kl(lw, lm, 0.5)).mean()
    kl_sm = (mm * kl(lm, ls, 0.5)).mean()
    kl_sw = (mw * kl(lw, ls, 0.5)).mean()
    sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    assert torch.allclose(loss, sup + 0.7 * (pl + kl_mw + kl_sm + kl_sw), atol=1e-6)
    for name, value in (("pl_loss", pl), ("kl_mw", kl_mw), ("kl_sm", kl_sm), ("kl_sw", kl_sw)):
        assert torch.allclose(logs[f"train/{name}"], value, atol=1e-6)
    assert torch.allclose(logs["train/mask_ratio"], mw.mean())


def test_sequencematch_gradient_reaches_medium_and_strong_never_weak():
    model, batch = net_and_views(1)
    views = [v.clone().requires_grad_(True) for v in batch.u_views]
    batch = Batch(batch.x_lb, batch.y_lb, tuple(views), batch.u_index, batch.u_true)
    loss, _ = SequenceMatch(SequenceMatch.Config(threshold=0.0), C).training_step(model, batch, CTX)
    loss.backward()
    assert views[0].grad is None or views[0].grad.abs().max() == 0
    assert views[1].grad.abs().max() > 0 and views[2].grad.abs().max() > 0


def test_sequencematch_with_medium_equal_to_weak_and_no_sharpening():
    """m = w and T = 1: L_mw = 0 and L_sm = L_sw, so the loss is FixMatch's plus 2·KL(p_w ‖ p_s)."""
    model, batch = net_and_views(2)
    u_w, _, u_s = batch.u_views
    batch = Batch(batch.x_lb, batch.y_lb, (u_w, u_w, u_s), batch.u_index, batch.u_true)
    loss, logs = SequenceMatch(SequenceMatch.Config(threshold=0.0, T=1.0), C).training_step(model, batch, CTX)
    with torch.no_grad():
        lw, ls = model(u_w), model(u_s)
    assert float(logs["train/kl_mw"]) == pytest.approx(0.0, abs=1e-7)
    assert torch.allclose(logs["train/kl_sm"], kl(lw, ls, 1.0).mean(), atol=1e-6)
    fix = F.cross_entropy(model(batch.x_lb), batch.y_lb) + F.cross_entropy(ls, lw.argmax(-1))
    assert torch.allclose(loss, fix + 2 * kl(lw, ls, 1.0).mean(), atol=1e-5)
