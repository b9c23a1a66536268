"""CReST+: the progressive temperature, the rebalanced sampling, the generations and one step by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import MU, B, C, net_and_batch

from semisup.algorithms.base import StepContext
from semisup.algorithms.crest import CReST, alignment_temperature, tempered_target
from semisup.components.rebalance import rebalanced_rates, select_pseudo_labeled


def test_temperature_moves_from_one_to_t_min_over_generations():
    ts = [alignment_temperature(g, 6, 0.5) for g in range(6)]
    assert ts == pytest.approx([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    assert alignment_temperature(0, 1, 0.5) == 1.0
    with pytest.raises(ValueError, match="crest.num_generations must be >= 1"):
        CReST(CReST.Config(num_generations=0), C)


def test_tempered_target_by_hand():
    prior = torch.tensor([0.64, 0.32, 0.04])
    assert torch.allclose(tempered_target(prior, 1.0), prior)
    assert torch.allclose(
        tempered_target(prior, 0.5), torch.tensor([0.8, 0.565685, 0.2]) / 1.565685, atol=1e-5
    )
    assert torch.allclose(tempered_target(prior, 0.0), torch.full((3,), 1 / 3))


def test_rebalanced_rates_by_hand():
    # classes by count: 1 (16) > 0 (8) > 2 (1); the most frequent gets N_C/N_1, the rarest N_1/N_1
    counts = torch.tensor([8.0, 16.0, 1.0])
    assert torch.allclose(rebalanced_rates(counts, 1.0), torch.tensor([8 / 16, 1 / 16, 16 / 16]))
    assert torch.allclose(rebalanced_rates(counts, 3.0), torch.tensor([0.5, 1 / 16, 1.0]) ** (1 / 3))


def test_selection_keeps_the_most_confident_share_of_each_class():
    pred = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 0])
    conf = torch.tensor([0.9, 0.5, 0.7, 0.8, 0.6, 0.99, 0.7, 0.3, 0.4, 1.0])
    seen = torch.ones(10, dtype=torch.bool)
    seen[9] = False  # never drawn: not a candidate however confident its (initial) entry
    chosen = select_pseudo_labeled(pred, conf, seen, torch.tensor([0.5, 1 / 3, 1.0]))
    # class 0: floor(0.5 * 4) = 2 of {0.9, 0.5, 0.7, 0.8}; class 1: floor(3 / 3) = 1; class 2: both
    assert chosen.tolist() == [True, False, False, True, False, True, False, True, True, False]


def test_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    algo = CReST(CReST.Config(threshold=0.4), C, n_unlabeled=B * MU)
    algo.observe_labels(torch.tensor([0] * 16 + [1] * 8 + [2] * 1))
    # step 9 of 10 is in the last of 6 generations: t = 0.5; the memory is still empty, A_5 = ∅
    loss, logs = algo.training_step(model, batch, StepContext(9, 10))
    assert int(algo.generation) == 5 and not algo.chosen.any()
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
    # the memory now holds the raw weak-view predictions of the batch
    assert torch.equal(algo.pred, p.argmax(-1)) and torch.allclose(algo.conf, p.max(-1).values)


def test_a_new_generation_adds_rebalanced_pseudo_labels_to_the_supervised_mean():
    model, batch = net_and_batch()
    algo = CReST(CReST.Config(threshold=0.4, num_generations=2, alpha=1.0), C, n_unlabeled=B * MU)
    algo.observe_labels(torch.tensor([0] * 4 + [1] * 2 + [2] * 1))  # rates 1/4, 2/4, 4/4 by rank
    algo.training_step(model, batch, StepContext(0, 10))  # generation 0 fills the memory
    assert int(algo.generation) == 0 and not algo.chosen.any()
    p = torch.softmax(model(batch.u_views[0]), -1).detach()
    loss, logs = algo.training_step(model, batch, StepContext(5, 10))  # generation 1 starts
    assert int(algo.generation) == 1
    expected = select_pseudo_labeled(
        p.argmax(-1), p.max(-1).values, torch.ones(B * MU, dtype=torch.bool), torch.tensor([0.25, 0.5, 1.0])
    )
    assert torch.equal(algo.chosen, expected) and expected.any()
    with torch.no_grad():
        ce_lb = F.cross_entropy(model(batch.x_lb), batch.y_lb, reduction="sum")
        logits_w = model(batch.u_views[0])
        ce_add = F.cross_entropy(logits_w[expected], p.argmax(-1)[expected], reduction="sum")
    sup = (ce_lb + ce_add) / (B + expected.sum())
    assert torch.allclose(logs["train/sup_loss"], sup, atol=1e-6)
    assert torch.allclose(logs["train/crest_added"], expected.float().mean())
    # the added examples' term carries a gradient through the weak view
    model.zero_grad()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_restored_state_continues_the_generation_without_re_choosing():
    model, batch = net_and_batch()
    cfg = CReST.Config(threshold=0.4, num_generations=3, alpha=1.0, first_generation=0.5)
    algo = CReST(cfg, C, n_unlabeled=B * MU)
    algo.observe_labels(torch.tensor([0] * 4 + [1] * 2 + [2] * 1))
    for step in (0, 5, 6):  # step 5 starts generation 1 (of 3) and chooses A_1 from step 0's memory
        algo.training_step(model, batch, StepContext(step, 10))
    assert algo.generation_at(0.5) == 1 and algo.generation_at(0.75) == 2 and int(algo.generation) == 1
    restored = CReST(cfg, C, n_unlabeled=B * MU)
    restored.load_state_dict(algo.state_dict())
    # the memory moved since A_1 was chosen; a restored copy must keep A_1, not choose again
    a, _ = algo.training_step(model, batch, StepContext(7, 10))
    b, _ = restored.training_step(model, batch, StepContext(7, 10))
    assert torch.equal(a, b) and torch.equal(algo.chosen, restored.chosen) and int(restored.generation) == 1
