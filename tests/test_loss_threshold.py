"""Dash's decaying loss threshold: ρ_t = max(C γ^{−(t−1)} ρ̂, ρ_min), ρ̂ estimated once."""

import math

import pytest
import torch

from semisup.components import DecayingLossThreshold


def test_schedule_matches_the_formula_and_floors_at_rho_min():
    th = DecayingLossThreshold(C=1.0001, gamma=1.27, rho_min=0.05)
    th.estimate(torch.tensor([2.0, 1.0, 0.5, 0.5]))
    assert float(th.rho_hat) == 1.0
    for t in (1, 2, 5, 10):
        assert float(th.rho(t)) == pytest.approx(max(1.0001 * 1.27 ** -(t - 1), 0.05), rel=1e-6)
    assert float(th.rho(10_000)) == pytest.approx(0.05)  # γ^{-9999} underflows; the floor holds


def test_rho_hat_is_estimated_once_and_travels_in_the_state_dict():
    th = DecayingLossThreshold()
    th.estimate(torch.tensor([3.0]))
    th.estimate(torch.tensor([100.0]))  # a later call keeps the first estimate
    assert float(th.rho_hat) == 3.0
    other = DecayingLossThreshold()
    other.load_state_dict(th.state_dict())
    other.estimate(torch.tensor([7.0]))
    assert float(other.rho_hat) == 3.0 and bool(other.estimated)


def test_mask_keeps_losses_at_or_below_rho():
    th = DecayingLossThreshold(C=1.0, gamma=2.0, rho_min=0.0)
    th.estimate(torch.tensor([math.log(4.0)]))
    losses = torch.tensor([0.1, math.log(2.0), 1.0, 2.0])
    assert th.mask(losses, 2).tolist() == [1.0, 1.0, 0.0, 0.0]  # ρ_2 = log 4 / 2 = log 2


@pytest.mark.parametrize(
    "kwargs,match",
    [({"C": 0.5}, "C must be"), ({"gamma": 1.0}, "gamma must be"), ({"rho_min": -1}, "rho_min")],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DecayingLossThreshold(**kwargs)
    with pytest.raises(ValueError, match="stage must be"):
        DecayingLossThreshold().rho(0)
