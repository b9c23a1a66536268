"""A class distribution averaged over the last W batches (ReMixMatch's distribution alignment).

Berthelot et al. 2020 (https://arxiv.org/abs/1911.09785) estimate the model's marginal p̃(y) as the mean
of its predictions on the unlabeled batches of the last 128 steps; the authors' code keeps a FIFO of
128 batch means that starts uniform. ``ClassDistributionWindow`` is that FIFO.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ClassDistributionWindow(nn.Module):
    """Mean of the last ``size`` batch-mean distributions; the slots start at the uniform 1/C.

    ``update(rows)`` writes ``rows.mean(0)`` over the oldest slot; ``mean()`` is the average of the
    slots, renormalised to sum to 1. Both stay on the device (no host sync).

    Args:
        num_classes: C ≥ 1.
        size: W ≥ 1 batches (ReMixMatch: 128).

    Raises:
        ValueError: C < 1 or W < 1.

    Example:
        >>> w = ClassDistributionWindow(2, size=2)
        >>> w.update(torch.tensor([[1.0, 0.0]]))
        >>> w.mean()  # slots (1, 0) and the initial (0.5, 0.5)
        tensor([0.7500, 0.2500])
    """

    def __init__(self, num_classes: int, size: int = 128) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if size < 1:
            raise ValueError(f"window size must be >= 1, got {size}")
        self.size = size
        self.register_buffer("history", torch.full((size, num_classes), 1.0 / num_classes))
        self.register_buffer("position", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, rows: Tensor) -> None:
        """Overwrite the oldest slot with the mean of ``rows`` (N, C) (probabilities or one-hot labels)."""
        mean = rows.detach().to(self.history.dtype).mean(dim=0, keepdim=True)
        self.history.index_copy_(0, (self.position % self.size).view(1), mean)
        self.position += 1

    def mean(self) -> Tensor:
        """(C,) the window's distribution, summing to 1."""
        m = self.history.mean(dim=0)
        return m / m.sum()


def align_distribution(probs: Tensor, p_data: Tensor, p_model: Tensor, eps: float = 1e-6) -> Tensor:
    """ReMixMatch's distribution alignment: Normalize(p · (p_data + ε) / (p_model + ε)) per row.

    Args:
        probs: (N, C) predictions. p_data: (C,) the target marginal. p_model: (C,) the model's marginal.

    Example:
        >>> align_distribution(torch.tensor([[0.5, 0.5]]), torch.tensor([0.5, 0.5]), torch.tensor([0.8, 0.2]))
        tensor([[0.2000, 0.8000]])
    """
    aligned = probs * ((p_data + eps) / (p_model + eps)).to(probs.dtype)
    return aligned / aligned.sum(dim=-1, keepdim=True)
