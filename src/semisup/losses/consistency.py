"""Consistency losses between two predictions of the same example."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def mse_probs(logits: Tensor, target_logits: Tensor, detach_target: bool = True) -> Tensor:
    """Squared difference of softmax outputs, averaged over classes (Laine & Aila 2017). Returns (N,).

    With ``detach_target`` gradients reach only ``logits`` (a teacher's side); without it, both.
    """
    p = F.softmax(logits, dim=-1)
    q = F.softmax(target_logits.detach() if detach_target else target_logits, dim=-1)
    return ((p - q) ** 2).mean(dim=-1)
