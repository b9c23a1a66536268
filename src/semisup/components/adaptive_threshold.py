"""FreeMatch's self-adaptive thresholds and self-adaptive fairness loss.

Wang et al., "FreeMatch: Self-adaptive Thresholding for Semi-supervised Learning", ICLR 2023.
https://arxiv.org/abs/2205.07246
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_momentum(momentum: float) -> None:
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")


def sum_norm(x: Tensor) -> Tensor:
    """x / Σx over the last dim; an all-zero vector stays zero."""
    return x / x.sum(dim=-1, keepdim=True).clamp_min(1e-12)


def _safe_reciprocal(x: Tensor) -> Tensor:
    """1/x with 1/0 := 0 (a class absent from a histogram contributes nothing)."""
    return torch.where(x > 0, 1.0 / x.clamp_min(1e-12), torch.zeros_like(x))


class SelfAdaptiveThreshold(nn.Module):
    """EMAs of the model's confidence on unlabeled data, and the thresholds they define (paper §3.2).

    After each update with weak-view probabilities q (μB, C), with λ = ``momentum``:

        τ_t = λ τ_{t−1} + (1 − λ) mean_b max(q_b)             global threshold, τ_0 = 1/C
        p̃_t = λ p̃_{t−1} + (1 − λ) mean_b q_b                  class-wise expectation, p̃_0 = 1/C
        h̃_t = λ h̃_{t−1} + (1 − λ) Hist(argmax q_b) / μB        label histogram, h̃_0 = 1/C

    and τ_t(c) = MaxNorm(p̃_t)(c) · τ_t = p̃_t(c) / max_c' p̃_t(c') · τ_t.

    Args:
        num_classes: C ≥ 1.
        momentum: λ in [0, 1] (paper 0.999; 1 freezes the state).

    Raises:
        ValueError: for C < 1 or λ outside [0, 1].
    """

    def __init__(self, num_classes: int, momentum: float = 0.999) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        _check_momentum(momentum)
        self.num_classes, self.momentum = num_classes, momentum
        self.register_buffer("global_threshold", torch.tensor(1.0 / num_classes))
        self.register_buffer("class_prob", torch.full((num_classes,), 1.0 / num_classes))
        self.register_buffer("label_hist", torch.full((num_classes,), 1.0 / num_classes))

    @torch.no_grad()
    def update(self, probs: Tensor) -> None:
        """One EMA step from weak-view probabilities ``probs`` (μB, C)."""
        probs = probs.detach().to(self.class_prob.dtype)
        max_p, pred = probs.max(dim=-1)
        hist = torch.zeros_like(self.label_hist).scatter_add_(0, pred, torch.ones_like(max_p))
        w = 1.0 - self.momentum
        self.global_threshold.lerp_(max_p.mean(), w)
        self.class_prob.lerp_(probs.mean(dim=0), w)
        self.label_hist.lerp_(hist / probs.shape[0], w)

    def thresholds(self) -> Tensor:
        """(C,) τ_t(c)."""
        return self.class_prob / self.class_prob.max() * self.global_threshold

    def mask(self, probs: Tensor) -> Tensor:
        """(μB,) float 1(max q_b ≥ τ_t(argmax q_b))."""
        max_p, pred = probs.max(dim=-1)
        return (max_p >= self.thresholds()[pred]).to(probs.dtype)


def self_adaptive_fairness_loss(
    logits_s: Tensor, mask: Tensor, class_prob: Tensor, label_hist: Tensor
) -> Tensor:
    """L_f = −H(SumNorm(p̃_t / h̃_t), SumNorm(p̄ / h̄)), H(a, b) = −Σ a log b (paper Eq. 12).

    p̄ is the mean strong-view probability and h̄ the histogram of strong-view predictions, both over
    the examples kept by ``mask``. The first argument is state (no gradient); h̄ is a count (no gradient).
    Minimising L_f maximises that cross-entropy, as written in the paper and in the authors' code. 0 when
    the mask is empty (no host-side branch: the value is multiplied by 1(Σ mask > 0)).

    Args: logits_s (μB, C) strong-view logits; mask (μB,) in {0, 1}; class_prob, label_hist (C,) p̃_t, h̃_t.
    Returns: a scalar.
    """
    probs_s = F.softmax(logits_s.float(), dim=-1)
    w = mask.to(probs_s.dtype)
    p_bar = (w[:, None] * probs_s).sum(dim=0)  # ∝ mean over kept examples; SumNorm drops the scale
    h_bar = torch.zeros_like(p_bar).scatter_add_(0, probs_s.detach().argmax(dim=-1), w)
    target = sum_norm(class_prob * _safe_reciprocal(label_hist)).detach()
    pred = sum_norm(p_bar * _safe_reciprocal(h_bar))
    return (target * torch.log(pred + 1e-12)).sum() * (w.sum() > 0).to(w.dtype)
