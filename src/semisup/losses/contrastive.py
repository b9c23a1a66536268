"""NT-Xent, SimCLR's normalised temperature-scaled cross-entropy over two views of a batch.

Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020,
https://arxiv.org/abs/2002.05709 (eq. 1); the same loss in SimCLRv2 (https://arxiv.org/abs/2006.10029).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semisup.collective import Collective


def _check_temperature(temperature: float) -> float:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return float(temperature)


def _logits(z1: Tensor, z2: Tensor, temperature: float, dist: Collective | None) -> tuple[Tensor, Tensor]:
    """Similarities / τ of the 2N local anchors to the 2WN gathered embeddings (2N, 2WN), each anchor's
    own column at −inf, and the column of each anchor's positive (2N,).

    Columns are [view 1 of ranks 0..W−1, view 2 of ranks 0..W−1]; rank r's examples sit at rN..rN+N−1
    within each view, so on one process (W = 1) this is the usual (2N, 2N) matrix.
    """
    dist = dist if dist is not None else Collective()
    n, w, r = z1.shape[0], dist.world_size, dist.rank
    a1, a2 = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    anchors = torch.cat([a1, a2])  # (2N, D)
    # Gradient flows into every rank's slice (a differentiable gather): DDP's average of the ranks'
    # gradients is then the gradient of the loss over the global batch, as in SimCLR's own code.
    keys = torch.cat([dist.all_gather(a1, grad=True), dist.all_gather(a2, grad=True)])  # (2WN, D)
    sim = anchors @ keys.T / temperature
    local = torch.arange(n, device=z1.device) + r * n  # this rank's examples among the W·N
    own = torch.cat([local, local + w * n])  # each anchor's own column
    positive = torch.cat([local + w * n, local])
    sim[torch.arange(2 * n, device=z1.device), own] = float("-inf")  # never its own negative
    return sim, positive


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5, dist: Collective | None = None) -> Tensor:
    """Mean NT-Xent over the 2N anchors of two views.

    For anchor i, its positive is the other view of the same example and its negatives are the other
    2N − 2 embeddings of both views: ℓ_i = −log( exp(s_i,p / τ) / Σ_{k≠i} exp(s_i,k / τ) ), with s the
    cosine similarity. Embeddings are L2-normalised here; the loss is symmetric in (z1, z2) and
    invariant to permuting the examples (the same permutation in both views).

    Under DDP (``dist`` from ``StepContext.dist``) the negatives are the 2WN − 2 embeddings of every
    rank's batch and the loss is the mean over this rank's anchors; the mean of the W ranks' losses is
    then the loss of one process over the concatenated batch, and so is the gradient DDP averages.

    Args:
        z1, z2: (N, D) embeddings of view 1 and view 2; row n of both is example n. N >= 2.
        temperature: τ > 0.
        dist: the collectives across ranks (``semisup.collective``); None: one process.

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
    sim, positive = _logits(z1, z2, t, dist)
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


def contrastive_accuracy(z1: Tensor, z2: Tensor, dist: Collective | None = None) -> Tensor:
    """Share of the 2N anchors whose most similar other embedding is their positive (monitoring);
    under DDP (``dist``) among every rank's embeddings, as for ``nt_xent``."""
    with torch.no_grad():
        sim, positive = _logits(z1, z2, 1.0, dist)
    return (sim.argmax(dim=1) == positive).float().mean()
