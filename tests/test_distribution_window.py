"""ReMixMatch's windowed class distribution and its alignment: numbers by hand."""

import pytest
import torch

from semisup.components.distribution_window import ClassDistributionWindow, align_distribution


def test_window_is_the_mean_of_the_last_batches_starting_uniform():
    w = ClassDistributionWindow(2, size=3)
    assert torch.allclose(w.mean(), torch.tensor([0.5, 0.5]))
    w.update(torch.tensor([[1.0, 0.0], [1.0, 0.0]]))  # slots: (1, 0), (.5, .5), (.5, .5)
    assert torch.allclose(w.mean(), torch.tensor([2 / 3, 1 / 3]))
    for _ in range(3):
        w.update(torch.tensor([[0.0, 1.0]]))  # the first batch has left the window
    assert torch.allclose(w.mean(), torch.tensor([0.0, 1.0])) and int(w.position) == 4


def test_window_state_round_trips():
    a, b = ClassDistributionWindow(3, 4), ClassDistributionWindow(3, 4)
    a.update(torch.eye(3))
    a.update(torch.tensor([[0.2, 0.3, 0.5]]))
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.mean(), b.mean()) and int(b.position) == 2


def test_window_rejects_bad_sizes():
    with pytest.raises(ValueError, match="window size must be >= 1"):
        ClassDistributionWindow(3, 0)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        ClassDistributionWindow(0)


def test_alignment_rescales_by_the_ratio_and_normalises():
    p = torch.tensor([[0.6, 0.4], [0.5, 0.5]])
    out = align_distribution(p, torch.tensor([0.5, 0.5]), torch.tensor([0.75, 0.25]))
    expected = torch.tensor([[0.6 / 0.75, 0.4 / 0.25], [0.5 / 0.75, 0.5 / 0.25]])
    assert torch.allclose(out, expected / expected.sum(1, keepdim=True), atol=1e-5)
    same = align_distribution(p, torch.tensor([0.3, 0.7]), torch.tensor([0.3, 0.7]))
    assert torch.allclose(same, p)  # model marginal = target: unchanged
