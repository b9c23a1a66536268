"""ACR's estimate of the unlabeled class distribution and the adaptive logit-adjustment strength τ.

Wei & Gan, "Towards Realistic Long-Tailed Semi-Supervised Learning: Consistency Is All You Need",
CVPR 2023. https://arxiv.org/abs/2306.09200 (authors' code https://github.com/Gank0078/ACR, train.py).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from semisup.losses.logit_adjust import symmetric_kl


class AdaptiveAdjustment(nn.Module):
    """p̂_u, an EMA of the class histogram of confident predictions, and τ chosen from how far p̂_u is
    from three anchors: the labeled distribution π (consistent), uniform, and π reversed.

    ``update(pred, confident)`` (global batch): h = histogram of ``pred`` over ``confident`` examples,
    p̂_u ← m p̂_u + (1 − m) h / Σh (skipped when nothing is confident), and the symmetric KL divergences
    d = (d_con, d_uni, d_rev) of p̂_u to the anchors are summed. ``step_tau()`` then sets
    τ = τ_min + (τ_max − τ_min) · softmax(d̄)_con, d̄ the mean of d since the last call, as the authors'
    code does once per epoch: a pool that looks consistent with the labels (small d_con) gets a small
    adjustment, a uniform or reversed one a large adjustment.

    Args:
        num_classes: C ≥ 1. momentum: m in [0, 1] (code 0.9). tau_min, tau_max: τ's range (code 0, 2);
        τ starts at τ_max.
    """

    def __init__(
        self, num_classes: int, momentum: float = 0.9, tau_min: float = 0.0, tau_max: float = 2.0
    ) -> None:
        super().__init__()
        if num_classes < 1 or not 0.0 <= momentum <= 1.0 or tau_min > tau_max:
            raise ValueError(f"need C >= 1, momentum in [0, 1], tau_min <= tau_max; got {num_classes}, "
                             f"{momentum}, {tau_min}, {tau_max}")  # fmt: skip
        self.momentum, self.tau_min, self.tau_max = momentum, tau_min, tau_max
        self.register_buffer("u_prior", torch.full((num_classes,), 1.0 / num_classes))
        self.register_buffer("kl_sum", torch.zeros(3))
        self.register_buffer("kl_count", torch.zeros(()))
        self.register_buffer("tau", torch.tensor(float(tau_max)))

    def anchors(self, prior: Tensor) -> Tensor:
        """(3, C): π, uniform, π reversed."""
        return torch.stack([prior, torch.full_like(prior, 1.0 / prior.numel()), prior.flip(0)])

    @torch.no_grad()
    def update(self, pred: Tensor, confident: Tensor, prior: Tensor) -> None:
        """One step from predicted classes ``pred`` (M,), a bool/float mask ``confident`` (M,) and π (C,)."""
        w = confident.to(self.u_prior.dtype)
        hist = torch.zeros_like(self.u_prior).scatter_add_(0, pred, w)
        seen = hist.sum() > 0  # a device flag: no host read
        ema = torch.lerp(self.u_prior, hist / hist.sum().clamp_min(1e-12), 1.0 - self.momentum)
        self.u_prior.copy_(torch.where(seen, ema, self.u_prior))
        d = torch.stack([symmetric_kl(a, self.u_prior) for a in self.anchors(prior.to(self.u_prior.dtype))])
        self.kl_sum.add_(d * seen)
        self.kl_count.add_(seen.to(self.kl_count.dtype))

    @torch.no_grad()
    def step_tau(self) -> None:
        """τ from the mean divergences since the last call (unchanged if none were recorded); resets them."""
        weight = torch.softmax(self.kl_sum / self.kl_count.clamp_min(1.0), dim=0)[0]
        new = self.tau_min + (self.tau_max - self.tau_min) * weight
        self.tau.copy_(torch.where(self.kl_count > 0, new, self.tau))
        self.kl_sum.zero_()
        self.kl_count.zero_()
