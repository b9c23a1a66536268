"""Dash's dynamic threshold on the loss: unlabeled examples are kept while their loss is below ρ_t.

Xu et al., "Dash: Semi-Supervised Learning with Dynamic Thresholding", ICML 2021.
https://arxiv.org/abs/2109.00650
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DecayingLossThreshold(nn.Module):
    """ρ_t = max(C · γ^{−(t−1)} · ρ̂, ρ_min) at stage t = 1, 2, ...; an example is kept when its loss ≤ ρ_t.

    ρ̂ is estimated once, after the warm-up, from the loss the model then has on labeled data
    (:meth:`estimate`); it is a buffer, so a checkpoint carries it. With C > 1 the first stage keeps
    slightly more than the labeled loss level; each stage divides the threshold by γ > 1.

    Args:
        C: C ≥ 1 (paper 1.0001). gamma: γ > 1 (paper 1.27). rho_min: ρ_min ≥ 0, the floor.

    Raises:
        ValueError: for an argument out of range.

    Example:
        >>> th = DecayingLossThreshold(C=1.0, gamma=2.0, rho_min=0.1)
        >>> th.estimate(torch.tensor([1.0, 3.0]))  # ρ̂ = 2
        >>> th.rho(3)  # 2 / 2²
        tensor(0.5000)
    """

    def __init__(self, C: float = 1.0001, gamma: float = 1.27, rho_min: float = 0.05) -> None:
        super().__init__()
        if C < 1.0:
            raise ValueError(f"C must be >= 1, got {C}")
        if gamma <= 1.0:
            raise ValueError(f"gamma must be > 1 (the threshold decays), got {gamma}")
        if rho_min < 0.0:
            raise ValueError(f"rho_min must be >= 0, got {rho_min}")
        self.C, self.gamma, self.rho_min = C, gamma, rho_min
        self.register_buffer("rho_hat", torch.zeros(()))
        self.register_buffer("estimated", torch.tensor(False))

    @torch.no_grad()
    def estimate(self, losses_lb: Tensor) -> None:
        """Set ρ̂ = mean of the labeled losses (N,), unless it was set before (a device-side choice)."""
        mean = losses_lb.detach().to(self.rho_hat.dtype).mean()
        self.rho_hat.copy_(torch.where(self.estimated, self.rho_hat, mean))
        self.estimated.fill_(True)

    def rho(self, stage: int) -> Tensor:
        """ρ_t for stage t ≥ 1 (a scalar tensor)."""
        if stage < 1:
            raise ValueError(f"stage must be >= 1, got {stage}")
        return (self.C * self.gamma ** -(stage - 1) * self.rho_hat).clamp_min(self.rho_min)

    def mask(self, losses_u: Tensor, stage: int) -> Tensor:
        """(N,) float 1(loss ≤ ρ_t)."""
        return (losses_u <= self.rho(stage)).to(losses_u.dtype)
