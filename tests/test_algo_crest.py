"""CReST+: the progressive temperature, the tempered target and the aligned pseudo-labels by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.crest import CReST, alignment_temperature, tempered_target


def test_temperature_moves_from_one_to_t_min_over_generations():
    ts = [alignment_temperature(g, 6, 0.5) for g in range(6)]
    assert ts == pytest.approx([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    assert alignment_temperature(0, 1, 0.5) == 1.0
    with pytest.raises(ValueError, match="crest.generation must be in 0..num_generations-1"):
        CReST(CReST.Config(generation=6), C)


def test_tempered_target_by_hand():
    prior = torch.tensor([0.64, 0.32, 0.04])
    assert torch.allclose(tempered_target(prior, 1.0), prior)
    assert torch.allclose(
        tempered_target(prior, 0.5), torch.tensor([0.8, 0.565685, 0.2]) / 1.565685, atol=1e-5
    )
    assert torch.allclose(tempered_target(prior, 0.0), torch.full((3,), 1 / 3))


def test_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    algo = CReST(CReST.Config(threshold=0.4, generation=5), C)  # last of 6 generations: t = 0.5
    algo.observe_labels(torch.tensor([0] * 16 + [1] * 8 + [2] * 1))
    loss, logs = algo.training_step(model, batch, StepContext(0, 10))
    with torch.no_grad():
        p = torch.softmax(model(batch.u_views[0]), -1)
        logits_s = model(batch.u_views[1])
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    target = torch.tensor([4.0, 8**0.5, 1.0])  # sqrt of (16, 8, 1)
    target = target / target.sum()
    aligned = p * (target + 1e-6) / (p.mean(0) + 1e-6)  # the first update copies the batch mean
    aligned = aligned / aligned.sum(-1, keepdim=True)
    conf, pl = aligned.max(-1)
    unsup = (F.cross_entropy(logits_s, pl, reduction="none") * (conf >= 0.4)).mean()
    assert torch.allclose(loss, sup + unsup, atol=1e-6)
    assert torch.allclose(logs["train/mask_ratio"], (conf >= 0.4).float().mean())
