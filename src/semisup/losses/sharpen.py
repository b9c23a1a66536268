"""Temperature sharpening of a probability distribution (MixMatch, UDA)."""

from __future__ import annotations

import torch
from torch import Tensor


def sharpen(p: Tensor, T: float) -> Tensor:
    """p_i^(1/T) / Σ_j p_j^(1/T) over the last dimension.

    Berthelot et al. 2019 (https://arxiv.org/abs/1905.02249), eq. 7. T=1 returns ``p``; T→0 approaches
    the one-hot of the argmax. Computed as ``softmax(log p / T)`` so small T does not underflow to 0/0;
    zero entries stay zero. Used on targets, so call it on detached probabilities.

    Args:
        p: (..., C) probabilities.
        T: temperature, > 0.

    Raises:
        ValueError: if ``T`` <= 0.

    Example:
        >>> sharpen(torch.tensor([0.6, 0.4]), 0.5)  # [.36, .16] / .52
        tensor([0.6923, 0.3077])
    """
    if not T > 0:
        raise ValueError(f"sharpen temperature T must be > 0, got {T}")
    return torch.softmax(torch.log(p) / T, dim=-1)
