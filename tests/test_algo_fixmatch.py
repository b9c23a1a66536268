"""FixMatch's confidence mask: the plain softmax against τ, whatever the target temperature T."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from semisup.algorithms.base import StepContext
from semisup.data.batch import Batch
from semisup.registry import ALGORITHMS


class LogitsAreInputs(nn.Module):
    """A 'net' whose inputs are its logits, so a test sets p(u_w) exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def _mask_ratio(T: float, p_max: float, threshold: float = 0.95) -> float:
    logit = math.log(p_max / (1 - p_max))  # two classes: softmax([logit, 0]) = [p_max, 1 - p_max]
    u = torch.tensor([[logit, 0.0]] * 4)
    batch = Batch(
        torch.tensor([[1.0, 0.0]]), torch.tensor([0]), (u, u), torch.arange(4), torch.full((4,), -1)
    )
    algo = ALGORITHMS.get("fixmatch")(ALGORITHMS.get("fixmatch").Config(threshold=threshold, T=T), 2, 4)
    _, logs = algo.training_step(LogitsAreInputs(), batch, StepContext(0, 10))
    return float(logs["train/mask_ratio"])


@pytest.mark.parametrize("T", [0.5, 1.0, 2.0])
def test_threshold_applies_to_the_untempered_softmax(T):
    # p = 0.90 < τ: masked out at every T (at T = 0.5 the tempered max would be 0.988 and pass)
    assert _mask_ratio(T, 0.90) == 0.0
    # p = 0.97 ≥ τ: kept at every T (at T = 2 the tempered max would be 0.85 and fail)
    assert _mask_ratio(T, 0.97) == 1.0


def test_mask_is_the_plain_softmax_against_tau_at_T_half():
    """On random logits at T = 0.5 the mask ratio is the share of rows whose plain max probability
    reaches τ (the reference computation every threshold-based algorithm here uses)."""
    torch.manual_seed(0)
    logits = torch.randn(64, 3) * 3
    fm = ALGORITHMS.get("fixmatch")(ALGORITHMS.get("fixmatch").Config(threshold=0.95, T=0.5), 3, 64)
    expected = (torch.softmax(logits, -1).max(-1).values >= 0.95).float().mean()
    tempered = (torch.softmax(logits / 0.5, -1).max(-1).values >= 0.95).float().mean()
    assert expected < tempered  # the two definitions differ on this batch
    batch = Batch(
        torch.zeros(1, 3), torch.tensor([0]), (logits, logits), torch.arange(64), torch.full((64,), -1)
    )
    _, logs = fm.training_step(LogitsAreInputs(), batch, StepContext(0, 10))
    assert float(logs["train/mask_ratio"]) == pytest.approx(float(expected))
