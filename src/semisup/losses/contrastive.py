"""NT-Xent, SimCLR's normalised temperature-scaled cross-entropy over two views of a batch.

Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020,
https://arxiv.org/abs/2002.05709 (eq. 1); the same loss in SimCLRv2 (https://arxiv.org/abs/2006.10029).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check_temperature(temperature: float) -> float:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return float(temperature)


def _positives(n: int, device: torch.device) -> Tensor:
    """(2N,) index of each anchor's positive: n+i for i < n, i−n after (made on the device: no copy)."""
    return torch.arange(2 * n, device=device).add_(n).remainder_(2 * n)


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """Mean NT-Xent over the 2N anchors of two views.

    For anchor i, its positive is the other view of the same example and its negatives are the other
    2N − 2 embeddings of both views: ℓ_i = −log( exp(s_i,p / τ) / Σ_{k≠i} exp(s_i,k / τ) ), with s the
    cosine similarity. Embeddings are L2-normalised here; the loss is symmetric in (z1, z2) and
    invariant to permuting the examples (the same permutation in both views).

    Args:
        z1, z2: (N, D) embeddings of view 1 and view 2; row n of both is example n. N >= 2.
        temperature: τ > 0.

    Returns:
        scalar loss.

    Raises:
        ValueError: shapes differ, N < 2, or τ <= 0.

    Example:
        >>> z = torch.eye(4)  # aligned views, orthogonal examples: log(1 + (2N − 2) e^{−1/τ})
        >>> round(float(nt_xent(z, z, 0.5)), 4)
        0.5944
    """
    t = _check_temperature(temperature)
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = z1.shape[0]
    if n < 2:
        raise ValueError(f"NT-Xent needs at least 2 examples (negatives), got {n}")
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = z @ z.T / t  # (2N, 2N)
    sim.fill_diagonal_(float("-inf"))  # an anchor is never its own negative
    positive = _positives(n, z.device)
    return F.cross_entropy(sim, positive)


class NTXentLoss(nn.Module):
    """Module form of ``nt_xent`` with the temperature checked when built.

    Args:
        temperature: τ > 0 (SimCLR: 0.5 on CIFAR-10, 0.1 on ImageNet; SimCLRv2: 0.1).

    Raises:
        ValueError: τ <= 0.
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        """z1, z2: (N, D) -> scalar."""
        return nt_xent(z1, z2, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


def contrastive_accuracy(z1: Tensor, z2: Tensor) -> Tensor:
    """Share of the 2N anchors whose most similar other embedding is their positive (monitoring)."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = z @ z.T
    sim.fill_diagonal_(float("-inf"))
    positive = _positives(n, z.device)
    return (sim.argmax(dim=1) == positive).float().mean()
