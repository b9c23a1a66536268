"""FlexMatch's class-wise learning status: how many unlabeled examples each class has "won".

Zhang et al., "FlexMatch: Boosting Semi-Supervised Learning with Curriculum Pseudo Labeling",
NeurIPS 2021. https://arxiv.org/abs/2110.08263
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def convex_mapping(x: Tensor) -> Tensor:
    """FlexMatch's non-linear mapping M(x) = x / (2 − x): M(0)=0, M(1)=1, convex on [0, 1]."""
    return x / (2.0 - x)


class ClasswiseLearningStatus(nn.Module):
    """σ_c = #{unlabeled n whose latest confident prediction is c}, and its normalisation β_c.

    The memory ``selected`` (N,) holds, per unlabeled example, the class it was last predicted with
    confidence above the fixed threshold, or -1 if never. Then (paper Eq. 6 and the warm-up of §3.3)

        β_c = σ_c / max(max_c' σ_c', N − Σ_c' σ_c')   with ``warmup`` (unused examples count),
        β_c = σ_c / max_c' σ_c'                        without it,

    and the class-wise thresholds are τ_c = M(β_c) · τ. β = 0 while nothing is selected, so every
    threshold starts at 0 and rises as classes are learned. Everything is computed on the device with
    ``scatter_add`` (no ``bincount``, which reads its input's range on the host).

    Args:
        num_classes: C ≥ 1.
        n_unlabeled: N ≥ 1, the size of the unlabeled pool (ids are 0..N-1).
        warmup: FlexMatch's threshold warm-up (paper default True).

    Raises:
        ValueError: if C or N < 1.

    Example:
        >>> s = ClasswiseLearningStatus(3, 4)
        >>> s.update(torch.tensor([0, 1]), torch.tensor([2, 2]), torch.tensor([True, True]))
        >>> s.beta()  # σ = (0, 0, 2), 2 unused: β = σ / max(2, 2)
        tensor([0., 0., 1.])
    """

    def __init__(self, num_classes: int, n_unlabeled: int, warmup: bool = True) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if n_unlabeled < 1:
            raise ValueError(f"n_unlabeled must be >= 1 (one slot per unlabeled example), got {n_unlabeled}")
        self.num_classes, self.warmup = num_classes, warmup
        self.register_buffer("selected", torch.full((n_unlabeled,), -1, dtype=torch.long))

    def counts(self) -> Tensor:
        """(C+1,) float: entry 0 counts unused examples (-1), entry c+1 is σ_c."""
        out = torch.zeros(self.num_classes + 1, device=self.selected.device)
        return out.scatter_add_(0, self.selected + 1, torch.ones_like(self.selected, dtype=out.dtype))

    def sigma(self) -> Tensor:
        """(C,) σ_c, the learning effect of each class."""
        return self.counts()[1:]

    def beta(self) -> Tensor:
        """(C,) normalised learning status β_c in [0, 1]."""
        counts = self.counts()
        sigma, denom = counts[1:], counts[1:].max()
        if self.warmup:
            denom = torch.maximum(denom, counts[0])
        return sigma / denom.clamp_min(1.0)  # counts are integers: denom < 1 means σ = 0

    def thresholds(self, tau: float) -> Tensor:
        """(C,) τ_c = M(β_c) · τ."""
        return convex_mapping(self.beta()) * tau

    @torch.no_grad()
    def update(self, index: Tensor, pred: Tensor, confident: Tensor) -> None:
        """Record ``pred`` for the examples ``index`` where ``confident``; others keep their entry.

        Args: index (M,) pool ids; pred (M,) class ids; confident (M,) bool. An id repeated in one
        batch keeps one of its writes (which one is unspecified, as for any index_put).
        """
        self.selected[index] = torch.where(confident, pred, self.selected[index])
