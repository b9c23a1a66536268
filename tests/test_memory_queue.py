"""MemoryQueue (CoMatch's and SimMatch's memories) and the projection head they train beside the net."""

import pytest
import torch

from semisup.components.aux_heads import attach_aux_heads
from semisup.components.memory_queue import MemoryQueue
from semisup.components.projection_head import EmbeddingProjectionHead, logits_and_embeddings, projection_head
from semisup.nets.build import build_net, with_standardize


def test_push_is_first_in_first_out_with_wraparound():
    q = MemoryQueue(4, z=2, p=1)
    q.push(z=torch.ones(3, 2), p=torch.tensor([[1.0], [2.0], [3.0]]))
    assert int(q.ptr) == 3 and int(q.count) == 3 and not bool(q.full)
    assert torch.equal(q.mean("p"), torch.tensor([2.0]))  # over the 3 valid rows, not the empty one
    q.push(z=torch.zeros(2, 2), p=torch.tensor([[4.0], [5.0]]))  # slots 3, then 0 (the oldest)
    assert q.p.flatten().tolist() == [5.0, 2.0, 3.0, 4.0]
    assert q.z[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert int(q.ptr) == 1 and int(q.count) == 4 and bool(q.full)
    q.push(z=torch.zeros(6, 2), p=torch.arange(6.0).unsqueeze(1))  # more rows than slots: the last 4
    assert sorted(q.p.flatten().tolist()) == [2.0, 3.0, 4.0, 5.0] and int(q.ptr) == 3
    assert q.p[2].item() == 5.0  # the newest row sits just before the pointer


def test_state_round_trips_and_bad_input_is_named():
    q = MemoryQueue(3, y=2)
    q.push(y=torch.eye(2))
    r = MemoryQueue(3, y=2)
    r.load_state_dict(q.state_dict())
    assert torch.equal(r.y, q.y) and int(r.ptr) == 2 and int(r.count) == 2
    with pytest.raises(ValueError, match="memory size must be >= 1"):
        MemoryQueue(0, z=2)
    with pytest.raises(ValueError, match="width >= 1"):
        MemoryQueue(2)
    with pytest.raises(ValueError, match="push every field"):
        q.push(z=torch.ones(1, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        MemoryQueue(2, a=1, b=1).push(a=torch.ones(1, 1), b=torch.ones(2, 1))


def test_projection_head_is_trained_with_the_net_but_not_saved_with_it():
    torch.manual_seed(0)
    net = build_net("mlp", (6,), 3)
    model = with_standardize(net, torch.randn(20, 6), "vector")
    plain_keys = set(model.state_dict())
    heads = attach_aux_heads(model, {"projection": projection_head(4)})
    assert set(model.state_dict()) == plain_keys  # a saved model stays the plain classifier
    head_params = {id(p) for p in heads.parameters()}
    assert head_params <= {id(p) for p in model.parameters()}  # so the optimizer and DDP see them
    x = torch.randn(5, 6)
    logits, z = logits_and_embeddings(model, heads, x)
    assert torch.allclose(logits, model(x))
    with torch.no_grad():
        expected = heads["projection"](net.features(model[0](x)))
    assert torch.allclose(z, expected) and torch.allclose(z.norm(dim=1), torch.ones(5))
    model.load_state_dict(model.state_dict())  # the head's keys are not reported missing
    with pytest.raises(ValueError, match="widths must be >= 1"):
        EmbeddingProjectionHead(4, 4, 0)
