"""Temporal ensembling: bias-corrected per-example memory, masked until seen, carried by checkpoints."""

from __future__ import annotations

import pytest
import torch

from semisup.algorithms.base import StepContext
from semisup.algorithms.temporal_ensembling import TemporalEnsembling
from semisup.data.batch import Batch
from semisup.nets.build import build_net, with_standardize

C, D, POOL = 3, 6, 10
CTX = StepContext(step=5, total_steps=10)


def make(seed: int = 0, **cfg):
    torch.manual_seed(seed)
    algo = TemporalEnsembling(TemporalEnsembling.Config(**{"rampup": 0.0, **cfg}), C, n_unlabeled=POOL)
    model = with_standardize(build_net("mlp", (D,), C), torch.randn(64, D), "vector")
    algo.attach(model)
    return algo, model


def batch(index, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(6, D, generator=g), torch.arange(6) % C
    index = torch.as_tensor(index)
    return Batch(x, y, (torch.randn(len(index), D, generator=g),), index, torch.full((len(index),), -1))


def test_bias_correction_by_hand():
    algo = TemporalEnsembling(TemporalEnsembling.Config(alpha=0.5), 2, n_unlabeled=3)
    p1, p2 = torch.tensor([[0.2, 0.8]]), torch.tensor([[0.6, 0.4]])
    algo.update(torch.tensor([1]), p1)
    # Z = 0.5·0 + 0.5·p1 = [0.1, 0.4]; 1 − 0.5¹ = 0.5 → target p1 exactly
    assert torch.allclose(algo.ensemble[1], torch.tensor([0.1, 0.4]))
    target, seen = algo.targets(torch.tensor([0, 1]))
    assert torch.allclose(target, torch.tensor([[0.0, 0.0], [0.2, 0.8]])) and seen.tolist() == [0.0, 1.0]
    algo.update(torch.tensor([1]), p2)
    # Z = 0.5·[0.1, 0.4] + 0.5·[0.6, 0.4] = [0.35, 0.4]; 1 − 0.5² = 0.75 → [0.4667, 0.5333]
    target, seen = algo.targets(torch.tensor([1]))
    assert torch.allclose(target, torch.tensor([[0.35 / 0.75, 0.4 / 0.75]]))
    assert torch.allclose(target.sum(-1), torch.ones(1)) and algo.updates.tolist() == [0, 2, 0]


def test_loss_against_the_memory_and_memory_updated_after_the_loss():
    algo, model = make()
    model.eval()
    b = batch([2, 5, 7])
    algo.update(torch.tensor([2, 5]), torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]))
    loss, logs = algo.training_step(model, b, CTX)
    with torch.no_grad():
        p = torch.softmax(model(b.u_views[0]), -1)
    # 2 and 5 were seen once: target = their update; 7 unseen: no term; mean over all 3 examples
    expected = (
        ((p[0] - torch.tensor([1.0, 0, 0])) ** 2).mean() + ((p[1] - torch.tensor([0, 0.5, 0.5])) ** 2).mean()
    ) / 3
    assert torch.allclose(logs["train/unsup_loss"], expected, atol=1e-6)
    assert torch.allclose(logs["train/mask_ratio"], torch.tensor(2 / 3))
    assert algo.updates[[2, 5, 7]].tolist() == [2, 2, 1]
    assert torch.allclose(algo.ensemble[7], 0.4 * p[2])


def test_unseen_examples_contribute_no_loss():
    algo, model = make()
    loss, logs = algo.training_step(model, batch([0, 1, 2, 3]), CTX)
    assert logs["train/unsup_loss"] == 0 and logs["train/mask_ratio"] == 0
    # a seen and an unseen example together: the unseen one's input does not change the loss
    algo, model = make()
    model.eval()
    algo.update(torch.tensor([4]), torch.tensor([[0.2, 0.3, 0.5]]))
    b1, b2 = batch([4, 9], seed=1), batch([4, 9], seed=1)
    b2.u_views = (torch.cat([b1.u_views[0][:1], b1.u_views[0][1:] + 5.0]),)
    state = {k: v.clone() for k, v in algo.state_dict().items()}
    _, l1 = algo.training_step(model, b1, CTX)
    algo.load_state_dict(state)
    _, l2 = algo.training_step(model, b2, CTX)
    assert l1["train/unsup_loss"] == l2["train/unsup_loss"] > 0


def test_paper_literal_zero_target_when_not_masking():
    algo, model = make(mask_unseen=False)
    model.eval()
    b = batch([0, 1])
    _, logs = algo.training_step(model, b, CTX)
    with torch.no_grad():
        p = torch.softmax(model(b.u_views[0]), -1)
    assert torch.allclose(logs["train/unsup_loss"], (p**2).mean(), atol=1e-6)


def test_memory_survives_save_and_load_exactly(tmp_path):
    algo, model = make()
    for step, idx in enumerate(([0, 1, 2], [1, 2, 3], [2, 3, 9])):
        algo.training_step(model, batch(idx, seed=step), CTX)
    torch.save(algo.state_dict(), tmp_path / "a.pt")
    fresh, _ = make(seed=3)
    fresh.load_state_dict(torch.load(tmp_path / "a.pt", weights_only=True))
    assert torch.equal(fresh.ensemble, algo.ensemble) and torch.equal(fresh.updates, algo.updates)
    assert fresh.updates.tolist() == [1, 2, 3, 2, 0, 0, 0, 0, 0, 1]


def test_checks():
    with pytest.raises(ValueError, match="alpha must be in"):
        TemporalEnsembling(TemporalEnsembling.Config(alpha=1.0), C, n_unlabeled=4)
    algo, model = make()
    b = batch([0, 1])
    b.u_index = None
    with pytest.raises(ValueError, match="u_index"):
        algo.training_step(model, b, CTX)
