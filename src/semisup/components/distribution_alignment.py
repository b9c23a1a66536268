"""Distribution alignment: rescale predictions so their running mean matches a target distribution.

Used by SoftMatch's uniform alignment (Chen et al. 2023, https://arxiv.org/abs/2301.10921) with a
uniform target; ReMixMatch's form (Berthelot et al. 2020) has the labeled class marginal as target.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DistributionAlignment(nn.Module):
    """DA(p) = Normalize(p · p_target / p̂), p̂ an EMA of the batch-mean prediction.

    ``update`` sets p̂ ← m p̂ + (1 − m) mean_b p_b; the first update copies the batch mean (as the
    authors' code does), so alignment acts from the first step. ``align`` then rescales each row and
    renormalises it to sum to 1. A small ``eps`` keeps a class with p̂ = 0 finite.

    Args:
        num_classes: C ≥ 1.
        momentum: m in [0, 1] (SoftMatch 0.999).
        target: (C,) target distribution; uniform 1/C if None.
        eps: added to numerator and denominator of the ratio (1e-6, as in USB).

    Raises:
        ValueError: for C < 1, m outside [0, 1], or a target that is not a (C,) distribution.

    Example:
        >>> da = DistributionAlignment(2)
        >>> p = torch.tensor([[0.9, 0.1], [0.7, 0.3]])
        >>> da.update(p)  # p̂ = (0.8, 0.2)
        >>> da.align(p)  # rows ∝ p / p̂
        tensor([[0.6923, 0.3077],
                [0.3684, 0.6316]])
    """

    def __init__(
        self, num_classes: int, momentum: float = 0.999, target: Tensor | None = None, eps: float = 1e-6
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if target is None:
            target = torch.full((num_classes,), 1.0 / num_classes)
        target = torch.as_tensor(target, dtype=torch.float32)
        if target.shape != (num_classes,) or (target < 0).any() or abs(float(target.sum()) - 1.0) > 1e-4:
            raise ValueError(f"target must be a distribution over {num_classes} classes, got {target}")
        self.momentum, self.eps = momentum, eps
        self.register_buffer("p_target", target.clone())
        self.register_buffer("p_model", torch.full((num_classes,), 1.0 / num_classes))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def update(self, probs: Tensor) -> None:
        """One EMA step from probabilities (N, C)."""
        mean = probs.detach().to(self.p_model.dtype).mean(dim=0)
        ema = torch.lerp(self.p_model, mean, 1.0 - self.momentum)
        self.p_model.copy_(torch.where(self.initialized, ema, mean))  # no host read of the flag
        self.initialized.fill_(True)

    def align(self, probs: Tensor) -> Tensor:
        """(N, C) aligned probabilities, each row summing to 1."""
        ratio = (self.p_target + self.eps) / (self.p_model + self.eps)
        aligned = probs * ratio.to(probs.dtype)
        return aligned / aligned.sum(dim=-1, keepdim=True)
