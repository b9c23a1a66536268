"""The labeled set's class counts, which long-tailed methods (DARP, ABC, CReST+, ACR) rebalance against."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LabeledClassCounts(nn.Module):
    """N_c, the number of labeled examples of each class, as a buffer (checkpoints carry it).

    The engine passes the labeled set's labels once (``Algorithm.observe_labels``); until then every
    class counts 1, i.e. the prior is uniform (an algorithm built outside the engine still runs).

    Args:
        num_classes: C ≥ 1.

    Example:
        >>> n = LabeledClassCounts(3)
        >>> n.set(torch.tensor([0, 0, 0, 1, 2, 2]))
        >>> n.prior()
        tensor([0.5000, 0.1667, 0.3333])
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.register_buffer("counts", torch.ones(num_classes))

    @torch.no_grad()
    def set(self, y: Tensor) -> None:
        """Count the labels ``y`` (L,) in 0..C-1 (scatter_add: no host read of the labels' range)."""
        y = y.to(self.counts.device).long()
        counts = torch.zeros_like(self.counts).scatter_add_(0, y, torch.ones_like(y, dtype=self.counts.dtype))
        self.counts.copy_(counts)

    def prior(self) -> Tensor:
        """(C,) π_c = N_c / Σ N."""
        return self.counts / self.counts.sum().clamp_min(1e-12)

    def min_ratio(self) -> Tensor:
        """(C,) N_min / N_c, ABC's Bernoulli parameter per class (a class with no label gets 1)."""
        present = self.counts > 0
        n_min = torch.where(present, self.counts, torch.full_like(self.counts, float("inf"))).min()
        return torch.where(present, n_min / self.counts.clamp_min(1e-12), torch.ones_like(self.counts))
