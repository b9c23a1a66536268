"""FlexMatch against a transcription of the paper's equations; its limit is FixMatch."""

import pytest
import torch
import torch.nn.functional as F
from conftest import MU, B, C, net_and_batch, weak_probs

from semisup.algorithms.base import StepContext
from semisup.algorithms.fixmatch import FixMatch
from semisup.algorithms.flexmatch import FlexMatch

CTX = StepContext(step=5, total_steps=10)


def test_flexmatch_paper_defaults_and_validation():
    cfg = FlexMatch.Config()
    assert (cfg.threshold, cfg.lambda_u, cfg.threshold_warmup, cfg.hard_label) == (0.95, 1.0, True, True)
    assert FlexMatch.unlabeled_views == ("weak", "strong") and "2110.08263" in FlexMatch.paper
    with pytest.raises(ValueError, match="flexmatch.threshold must be in"):
        FlexMatch(FlexMatch.Config(threshold=1.5), C, 10)
    with pytest.raises(ValueError, match="n_unlabeled must be >= 1"):
        FlexMatch(FlexMatch.Config(), C, 0)
    assert "status.selected" in FlexMatch(FlexMatch.Config(), C, 10).state_dict()


def test_flexmatch_matches_hand_computation():
    model, batch = net_and_batch()
    algo = FlexMatch(FlexMatch.Config(), C, n_unlabeled=B * MU)
    # σ = (6, 4, 2), 4 unused: β = σ / 6 = (1, 2/3, 1/3), M(β) = (1, 1/2, 1/5), τ_c = 0.95 · M(β)
    algo.status.selected.copy_(torch.tensor([0] * 6 + [1] * 4 + [2] * 2 + [-1] * 4))
    tau_c = 0.95 * torch.tensor([1.0, 0.5, 0.2])
    loss, logs = algo.training_step(model, batch, CTX)

    conf, pl = weak_probs(model, batch).max(-1)
    mask = (conf >= tau_c[pl]).float()
    assert 0 < mask.sum() < len(mask)  # the batch exercises both sides of the thresholds
    with torch.no_grad():
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
        unsup = (F.cross_entropy(model(batch.u_views[1]), pl, reduction="none") * mask).mean()
    assert torch.allclose(loss, sup + unsup, atol=1e-6)
    assert torch.allclose(logs["train/mask_ratio"], mask.mean())
    assert torch.allclose(logs["train/threshold_mean"], tau_c.mean())
    # no prediction reached τ = 0.95: the memory keeps its entries
    assert conf.max() < 0.95 and algo.status.sigma().tolist() == [6, 4, 2]


def test_flexmatch_starts_with_every_pseudo_label_and_records_confident_ones():
    model, batch = net_and_batch()
    conf, pl = weak_probs(model, batch).max(-1)
    tau = float(conf.median())
    algo = FlexMatch(FlexMatch.Config(threshold=tau), C, n_unlabeled=20)
    _, logs = algo.training_step(model, batch, CTX)
    assert float(logs["train/mask_ratio"]) == 1.0  # nothing learned yet: every τ_c = 0
    expected = torch.where(conf >= tau, pl, torch.full_like(pl, -1))
    assert torch.equal(algo.status.selected[: B * MU], expected)
    assert torch.equal(algo.status.selected[B * MU :], torch.full((4,), -1))


def test_flexmatch_with_every_class_learned_is_fixmatch():
    model, batch = net_and_batch(seed=1)
    tau = float(weak_probs(model, batch).max(-1).values.median())
    flex = FlexMatch(FlexMatch.Config(threshold=tau), C, n_unlabeled=18)
    flex.status.selected.copy_(torch.arange(18) % C)  # β_c = 1 for every class: τ_c = τ
    fix = FixMatch(FixMatch.Config(threshold=tau), C)
    (l_flex, logs_flex), (l_fix, logs_fix) = (
        flex.training_step(model, batch, CTX),
        fix.training_step(model, batch, CTX),
    )
    assert torch.allclose(l_flex, l_fix) and torch.allclose(
        logs_flex["train/mask_ratio"], logs_fix["train/mask_ratio"]
    )
    assert 0 < float(logs_fix["train/mask_ratio"]) < 1
