"""SoftMatch's truncated Gaussian sample weights: a soft version of the confidence threshold.

Chen et al., "SoftMatch: Addressing the Quantity-Quality Trade-off in Semi-supervised Learning",
ICLR 2023. https://arxiv.org/abs/2301.10921
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class TruncatedGaussianWeights(nn.Module):
    """λ(p) = λ_max · exp(−(max p − μ_t)² / (2 σ_t²)) below μ_t, λ_max at or above it (paper Eq. 7).

    μ_t and σ_t² are EMAs (momentum m) of the batch mean and unbiased batch variance of the confidence
    max p over the unlabeled batch (paper Eq. 8), μ_0 = 1/C, σ_0² = 1:

        μ_t = m μ_{t−1} + (1 − m) mean_b max p_b
        σ_t² = m σ_{t−1}² + (1 − m) · μB/(μB − 1) · var_b max p_b

    ``n_sigma`` scales the width: the Gaussian uses σ_t / n_sigma. The paper's formula is n_sigma = 1;
    Microsoft's USB implementation uses 2 (a narrower Gaussian).

    Args:
        num_classes: C ≥ 1 (sets μ_0).
        momentum: m in [0, 1] (paper 0.999; 1 freezes the state).
        lambda_max: λ_max > 0 (paper 1).
        n_sigma: > 0 (paper 1).

    Raises:
        ValueError: for an argument out of range.

    Example:
        >>> g = TruncatedGaussianWeights(2)  # μ = 0.5, σ² = 1
        >>> g(torch.tensor([0.9, 0.5, 0.3]))  # 1, 1, exp(-0.04 / 2)
        tensor([1.0000, 1.0000, 0.9802])
    """

    def __init__(
        self, num_classes: int, momentum: float = 0.999, lambda_max: float = 1.0, n_sigma: float = 1.0
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if lambda_max <= 0:
            raise ValueError(f"lambda_max must be > 0, got {lambda_max}")
        if n_sigma <= 0:
            raise ValueError(f"n_sigma must be > 0, got {n_sigma}")
        self.momentum, self.lambda_max, self.n_sigma = momentum, lambda_max, n_sigma
        self.register_buffer("mu", torch.tensor(1.0 / num_classes))
        self.register_buffer("var", torch.tensor(1.0))

    @torch.no_grad()
    def update(self, confidence: Tensor) -> None:
        """One EMA step from the confidences max p (μB,) of an unlabeled batch."""
        confidence = confidence.detach().to(self.mu.dtype)
        # μB is a static shape, so this branch never reads the device. One example has no variance.
        var_b = confidence.var(correction=1) if confidence.numel() > 1 else torch.zeros_like(self.var)
        w = 1.0 - self.momentum
        self.mu.lerp_(confidence.mean(), w)
        self.var.lerp_(var_b, w)

    def forward(self, confidence: Tensor) -> Tensor:
        """(μB,) weights in (0, λ_max] for confidences (μB,)."""
        gap = (confidence - self.mu).clamp(max=0.0)
        var = (self.var / self.n_sigma**2).clamp_min(1e-12)
        return self.lambda_max * torch.exp(-(gap**2) / (2.0 * var))
