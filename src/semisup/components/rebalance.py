"""CReST's class-rebalancing choice of pseudo-labeled examples (Wei et al. 2021, Eq. 1,
https://arxiv.org/abs/2102.09559): rare classes keep a larger share of their pseudo-labels."""

from __future__ import annotations

import torch
from torch import Tensor


def rebalanced_rates(counts: Tensor, alpha: float) -> Tensor:
    """(C,) CReST's sampling rate μ_k = (N_{C+1−r(k)} / N_1)^(1/α), r(k) the rank of class k by labeled
    count (1 = most frequent), N_1 ≥ … ≥ N_C the sorted counts: the rarest class keeps every pseudo-label
    it gets, the most frequent the share N_C / N_1 to the power 1/α."""
    order = torch.argsort(counts, descending=True, stable=True)
    sorted_counts = counts[order]
    rates = torch.empty_like(counts, dtype=torch.float32)
    rates[order] = (sorted_counts.flip(0).float() / sorted_counts[0].float()) ** (1.0 / alpha)
    return rates


def select_pseudo_labeled(pred: Tensor, conf: Tensor, seen: Tensor, rates: Tensor) -> Tensor:
    """(N,) bool: per class k, the floor(μ_k · n_k) most confident of the n_k seen examples predicted k.

    Args: pred (N,) class ids, conf (N,) their confidences, seen (N,) bool, rates (C,) μ_k."""
    chosen = torch.zeros_like(seen)
    for k in range(rates.shape[0]):
        idx = torch.nonzero(seen & (pred == k)).flatten()
        keep = int(rates[k].item() * idx.numel())
        if keep > 0:
            chosen[idx[torch.topk(conf[idx], keep).indices]] = True
    return chosen
