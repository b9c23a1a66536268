"""Pieces of virtual adversarial training (Miyato et al. 2018) and entropy minimisation, on logits.

Shapes: logits (N, C); perturbations (N, *input_shape). Every function returns one value per example.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def l2_normalize(d: Tensor, eps: float = 1e-12) -> Tensor:
    """``d`` divided by its L2 norm over all non-batch dims, per example; an all-zero row stays zero.

    Example:
        >>> import torch
        >>> l2_normalize(torch.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    norm = d.flatten(1).norm(dim=1).clamp_min(eps)
    return d / norm.view(-1, *([1] * (d.dim() - 1)))


def kl_div_with_logits(q_logits: Tensor, p_logits: Tensor) -> Tensor:
    """KL(q ‖ p) = Σ_c q_c (log q_c − log p_c) with q = softmax(q_logits), p = softmax(p_logits). (N,).

    Gradients flow into both arguments; detach ``q_logits`` to use q as a fixed target (VAT's LDS).
    """
    log_q = F.log_softmax(q_logits, dim=-1)
    return (log_q.exp() * (log_q - F.log_softmax(p_logits, dim=-1))).sum(dim=-1)


def entropy_with_logits(logits: Tensor) -> Tensor:
    """H(p) = −Σ_c p_c log p_c with p = softmax(logits), in nats (Grandvalet & Bengio 2005). (N,)."""
    log_p = F.log_softmax(logits, dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1)
