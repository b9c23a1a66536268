"""AdaMatch's relative threshold and labeled→unlabeled distribution alignment against hand computations."""

import pytest
import torch

from semisup.components import RelativeDistributionAlignment, relative_confidence_threshold


def test_relative_threshold_is_tau_times_mean_labeled_confidence():
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    assert torch.allclose(relative_confidence_threshold(p, 0.9), torch.tensor(0.9 * (0.7 + 0.5 + 0.4) / 3))
    assert float(relative_confidence_threshold(p, 0.0)) == 0.0


def test_alignment_ema_window_and_ratio_match_a_naive_reference():
    C, m, W = 3, 0.8, 2
    da = RelativeDistributionAlignment(C, momentum=m, window=W)
    g = torch.Generator().manual_seed(0)
    p_lab, slots = torch.full((C,), 1 / C), [torch.full((C,), 1 / C)] * W
    for t in range(5):  # wraps the window twice
        lb = torch.softmax(torch.randn(4, C, generator=g), -1)
        u = torch.softmax(torch.randn(6, C, generator=g), -1)
        da.update(lb, u)
        p_lab = m * p_lab + (1 - m) * lb.mean(0)
        slots = slots[1:] + [u.mean(0)]  # a FIFO of the last W batch means
        p_unl = torch.stack(slots).mean(0)
        expected = u * (p_lab + 1e-6) / (p_unl + 1e-6)
        expected = expected / expected.sum(1, keepdim=True)
        assert torch.allclose(da.align(u), expected, atol=1e-6), t
    assert int(da.cursor) == 5 % W


def test_alignment_is_identity_when_marginals_agree_and_state_is_in_buffers():
    da = RelativeDistributionAlignment(4)
    p = torch.softmax(torch.randn(5, 4), -1)
    assert torch.allclose(da.align(p), p, atol=1e-6)  # both marginals start at 1/C
    assert set(da.state_dict()) == {"p_labeled", "history", "cursor"}


@pytest.mark.parametrize(
    "kwargs,match",
    [({"num_classes": 0}, "num_classes"), ({"momentum": 1.5}, "momentum"), ({"window": 0}, "window")],
)
def test_alignment_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RelativeDistributionAlignment(**{"num_classes": 3, **kwargs})
