"""CoMatch's and SimMatch's similarity functions against hand-computed values."""

import math

import torch
import torch.nn.functional as F

from semisup.losses.similarity import (
    graph_contrastive_loss,
    memory_smoothing,
    pseudo_label_graph,
    unfold_aggregate,
)


def test_memory_smoothing_by_hand():
    probs = torch.tensor([[0.5, 0.5]])
    z = torch.tensor([[1.0, 0.0]])
    bank_z, bank_p = torch.eye(2), torch.eye(2)  # two memories, one per class
    q = memory_smoothing(probs, z, bank_z, bank_p, alpha=0.9, temperature=1.0)
    a0 = math.e / (1 + math.e)  # softmax(1, 0)
    assert torch.allclose(q, torch.tensor([[0.45 + 0.1 * a0, 0.45 + 0.1 * (1 - a0)]]))
    assert torch.allclose(q.sum(1), torch.ones(1))


def test_pseudo_label_graph_by_hand_and_its_ddp_rows():
    q = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    w = pseudo_label_graph(q, q, threshold=0.8)
    # q_0·q_1 = 0.9 ≥ 0.8 is kept, q_1·q_2 = 0.1 is cut, self-loops are 1 (q_1·q_1 = 0.82 is replaced).
    expected = torch.tensor([[1 / 1.9, 0.9 / 1.9, 0.0], [0.9 / 1.9, 1 / 1.9, 0.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(w, expected)
    # A rank holding rows 1..2 of the global batch gets the same rows, self-loops at its offset.
    assert torch.allclose(pseudo_label_graph(q[1:], q, 0.8, offset=1), expected[1:])


def test_graph_contrastive_loss_with_identity_target_is_info_nce():
    torch.manual_seed(0)
    za, zb = F.normalize(torch.randn(5, 3), dim=1), F.normalize(torch.randn(5, 3), dim=1)
    loss = graph_contrastive_loss(za, zb, torch.eye(5), temperature=0.2)
    assert torch.allclose(loss, F.cross_entropy(za @ zb.T / 0.2, torch.arange(5)))
    # A uniform target: the mean over rows of log Σ_j exp(s_j) − mean_j s_j.
    s = za @ zb.T / 0.2
    uniform = (torch.logsumexp(s, 1) - s.mean(1)).mean()
    assert torch.allclose(graph_contrastive_loss(za, zb, torch.full((5, 5), 0.2), 0.2), uniform)


def test_unfold_aggregate_by_hand():
    probs = torch.tensor([[0.8, 0.2]])
    sim = torch.tensor([[0.5, 0.3, 0.2]])
    bank = F.one_hot(torch.tensor([0, 1, 0]), 2).float()
    unfolded, aggregated = unfold_aggregate(probs, sim, bank, alpha=0.9)
    assert torch.allclose(unfolded, torch.tensor([[0.4, 0.06, 0.16]]) / 0.62)
    assert torch.allclose(aggregated, torch.tensor([[0.9 * 0.8 + 0.1 * 0.7, 0.9 * 0.2 + 0.1 * 0.3]]))
    # An empty memory (all-zero labels) unfolds to zeros, not NaN.
    zeros, _ = unfold_aggregate(probs, sim, torch.zeros(3, 2), 0.9)
    assert torch.equal(zeros, torch.zeros(1, 3))
