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


def test_fixmatch_at_T_half_equals_flexmatch_with_every_class_learned():
    """Issue 13's check: with every class fully learned FlexMatch's per-class threshold M(β_c)·τ is τ, so at
    T = 0.5 its mask and loss must equal FixMatch's — both threshold the plain softmax (the old FixMatch,
    thresholding softmax(logits / T), passed more rows and gave another loss)."""
    torch.manual_seed(1)
    C, n = 3, 60
    logits = torch.randn(n, C) * 3
    strong = torch.randn(n, C)
    batch = Batch(
        torch.zeros(2, C), torch.tensor([0, 1]), (logits, strong), torch.arange(n), torch.full((n,), -1)
    )
    fix_cls, flex_cls = ALGORITHMS.get("fixmatch"), ALGORITHMS.get("flexmatch")
    fix = fix_cls(fix_cls.Config(threshold=0.95, T=0.5), C, n)
    flex = flex_cls(flex_cls.Config(threshold=0.95, T=0.5), C, n)
    flex.status.selected.copy_(torch.arange(n) % C)  # every example confidently assigned, classes balanced
    assert torch.allclose(flex.status.thresholds(0.95), torch.full((C,), 0.95))
    loss_fix, logs_fix = fix.training_step(LogitsAreInputs(), batch, StepContext(0, 10))
    loss_flex, logs_flex = flex.training_step(LogitsAreInputs(), batch, StepContext(0, 10))
    expected = (torch.softmax(logits, -1).max(-1).values >= 0.95).float().mean()
    assert 0 < float(expected) < 1
    assert (
        float(logs_fix["train/mask_ratio"])
        == float(logs_flex["train/mask_ratio"])
        == pytest.approx(float(expected))
    )
    assert float(loss_fix) == pytest.approx(float(loss_flex), rel=1e-6)
