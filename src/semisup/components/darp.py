"""DARP: refine the pseudo-labels of the whole unlabeled pool so their class sums match a target.

Kim et al., "Distribution Aligning Refinery of Pseudo-label for Imbalanced Semi-supervised Learning",
NeurIPS 2020. https://arxiv.org/abs/2007.08844
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def darp_denoise(probs: Tensor, target: Tensor, alpha: float = 2.0) -> Tensor:
    """Keep, in each class column k, the floor(α · N̂_k) largest entries (rescaled so they sum to N̂_k),
    shrink the others to ~0 and renormalise each row: DARP's removal of noisy entries (authors' code).

    Args: probs (N, C) rows summing to 1; target (C,) N̂ class sums; alpha α > 0.
    Returns: (N, C) rows summing to 1. A row with no kept entry becomes uniform.
    """
    N, C = probs.shape
    num = torch.floor(alpha * target).clamp(max=N).to(torch.long)  # (C,) entries kept per column
    order = probs.argsort(dim=0, descending=True)
    ranks = torch.empty_like(order).scatter_(
        0, order, torch.arange(N, device=probs.device)[:, None].expand(N, C)
    )
    keep = (ranks < num[None, :]).to(probs.dtype)
    weights = (target + 1e-6) / ((probs * keep).sum(dim=0) + 1e-6)
    scaled = probs * keep * weights + 1e-6
    return scaled / scaled.sum(dim=1, keepdim=True)


def darp_align(
    probs: Tensor, target: Tensor, iters: int = 10, newton: int = 30, entropy_weighted: bool = True
) -> Tensor:
    """X* = argmin_X Σ_m w_m KL(x_m ‖ ŷ_m)  s.t.  X 1_C = 1_N,  Xᵀ 1_N = N̂,  X ≥ 0  (paper Eq. 4).

    ŷ_m = ``probs[m]``, N̂ = ``target`` (Σ N̂ = N), w_m = 1 / H(ŷ_m) with ``entropy_weighted`` (the authors'
    code: confident rows move less) and 1 otherwise. The optimum is x_mk ∝ ŷ_mk exp(−ν_k / w_m) with one
    dual variable ν_k per class; coordinate ascent alternates the row normalisation with a Newton solve
    of each column constraint (``newton`` steps, in log space where it is convex and cannot overflow),
    ``iters`` times, as the authors' solver does. Float64 throughout; no host synchronisation.

    Returns: (N, C) rows summing to 1, columns summing to ``target`` at convergence.
    """
    A = probs.detach().double().clamp_min(1e-300)
    log_a, log_c = A.log(), target.detach().double().clamp_min(1e-12).log()
    if entropy_weighted:
        w = 1.0 / (-(A * torch.log(A + 1e-6)).sum(dim=1)).clamp_min(1e-12)
    else:
        w = torch.ones(A.shape[0], dtype=A.dtype, device=A.device)
    inv_w = (1.0 / w)[:, None]  # (N, 1)
    nu = torch.zeros(A.shape[1], dtype=A.dtype, device=A.device)
    for _ in range(iters):
        log_b = log_a - torch.logsumexp(log_a - nu * inv_w, dim=1, keepdim=True)  # rows normalised
        for _ in range(newton):
            t = log_b - nu * inv_w
            g = torch.logsumexp(t, dim=0) - log_c  # log(column sum) − log N̂_k: convex, decreasing in ν_k
            slope = -(torch.softmax(t, dim=0) * inv_w).sum(dim=0)
            nu = nu - g / slope
    return torch.softmax(log_a - nu * inv_w, dim=1).to(probs.dtype)


class DARPRefinery(nn.Module):
    """The latest prediction of every unlabeled example and its refined pseudo-label, as buffers.

    ``update`` writes predictions of a batch into ``memory`` (N, C); ``refine`` replaces ``refined``
    (N, C) by ``darp_align(darp_denoise(memory, N̂, α), N̂)``. Both start uniform.

    Args:
        num_classes: C ≥ 1. n_unlabeled: N ≥ 1 (pool ids 0..N-1). alpha: α > 0 (paper 2). iters: T ≥ 1
        (paper 10).
    """

    def __init__(self, num_classes: int, n_unlabeled: int, alpha: float = 2.0, iters: int = 10) -> None:
        super().__init__()
        if num_classes < 1 or n_unlabeled < 1:
            raise ValueError(f"need num_classes >= 1 and n_unlabeled >= 1, got {num_classes}, {n_unlabeled}")
        if alpha <= 0 or iters < 1:
            raise ValueError(f"need alpha > 0 and iters >= 1, got {alpha}, {iters}")
        self.alpha, self.iters = alpha, iters
        self.register_buffer("memory", torch.full((n_unlabeled, num_classes), 1.0 / num_classes))
        self.register_buffer("refined", torch.full((n_unlabeled, num_classes), 1.0 / num_classes))

    @torch.no_grad()
    def update(self, index: Tensor, probs: Tensor) -> None:
        """memory[index] = probs (M,) ids and (M, C) probabilities."""
        self.memory[index] = probs.detach().to(self.memory.dtype)

    @torch.no_grad()
    def refine(self, target: Tensor) -> None:
        """Recompute every refined pseudo-label for class sums ``target`` (C,) (Σ = N)."""
        denoised = darp_denoise(self.memory, target.to(self.memory.dtype), self.alpha)
        self.refined.copy_(darp_align(denoised, target.to(self.memory.dtype), self.iters))
