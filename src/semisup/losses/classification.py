"""Cross-entropy variants used by the SSL algorithms. Pure functions on logits.

Shapes: logits (N, C); targets either (N,) class ids or (N, C) probabilities; mask (N,) weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-example cross-entropy with class ids (N,) or soft targets (N, C). Returns (N,)."""
    if targets.dim() == 1:
        return F.cross_entropy(logits, targets, reduction="none")
    return -(targets * F.log_softmax(logits, dim=-1)).sum(dim=-1)


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values * mask`` over *all* N examples (FixMatch normalises by μB, not by the mask)."""
    return (values * mask).mean()


def pseudo_label_target(logits_w: Tensor, pseudo: Tensor, hard_label: bool, T: float) -> Tensor:
    """The target on the strong view: class ids ``pseudo`` (N,), or softmax(logits_w / T) (N, C) if soft."""
    return pseudo if hard_label else torch.softmax(logits_w / T, dim=-1)


def confidence_mask(probs: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """Pseudo-labels and a {0,1} mask of examples whose top probability reaches ``threshold``.

    Returns:
        pseudo (N,) class ids, mask (N,) float.
    """
    max_p, pseudo = probs.max(dim=-1)
    return pseudo, (max_p >= threshold).to(probs.dtype)
