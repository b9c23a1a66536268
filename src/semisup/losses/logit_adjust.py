"""Logit adjustment by a class prior: the balanced-softmax shift behind ACR's two branches.

Menon et al., "Long-tail learning via logit adjustment", ICLR 2021 (https://arxiv.org/abs/2007.07314);
used by ACR (Wei & Gan 2023, https://arxiv.org/abs/2306.09200).
"""

from __future__ import annotations

import torch
from torch import Tensor


def logit_adjustment(prior: Tensor, tau: float | Tensor) -> Tensor:
    """(C,) τ · log(π + 1e-12), the shift of the logit-adjusted loss (added to training logits) and of
    debiased predictions (subtracted from logits). ``tau`` may be a 0-d tensor (ACR adapts it)."""
    return tau * torch.log(prior + 1e-12)


def symmetric_kl(p: Tensor, q: Tensor) -> Tensor:
    """½ KL(p ‖ q) + ½ KL(q ‖ p) of two distributions (C,), with 1e-12 guarding log 0."""
    lp, lq = torch.log(p + 1e-12), torch.log(q + 1e-12)
    return 0.5 * (p * (lp - lq)).sum() + 0.5 * (q * (lq - lp)).sum()
