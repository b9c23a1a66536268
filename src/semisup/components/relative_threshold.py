"""AdaMatch's relative confidence threshold and its distribution alignment between labeled and unlabeled data.

Berthelot et al., "AdaMatch: A Unified Approach to Semi-Supervised Learning and Domain Adaptation",
ICLR 2022. https://arxiv.org/abs/2106.04732
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def relative_confidence_threshold(probs_lb: Tensor, tau: float) -> Tensor:
    """c_τ = τ · mean_b max_c p(x_lb)_b: the threshold follows the model's confidence on labeled data.

    Args: probs_lb (B, C) probabilities of the labeled (weak) batch; tau the relative ratio τ in [0, 1].
    Returns: a scalar tensor (no host read).

    Example:
        >>> relative_confidence_threshold(torch.tensor([[0.8, 0.2], [0.6, 0.4]]), 0.9)
        tensor(0.6300)
    """
    return tau * probs_lb.max(dim=-1).values.mean()


class RelativeDistributionAlignment(nn.Module):
    """p̃(u) = Normalize(p(u) · p̄_lb / p̄_u): unlabeled predictions rescaled towards the labeled marginal.

    As in the authors' code (``semi_supervised/adamatch.py``): p̄_lb is an EMA (momentum m) of the mean
    labeled prediction and p̄_u the mean of the last ``window`` batch-mean unlabeled predictions, both
    starting at 1/C and updated before they are used. A small ``eps`` (1e-6, the authors') keeps the
    ratio finite.

    Args:
        num_classes: C ≥ 1.
        momentum: m in [0, 1] (authors 0.999).
        window: W ≥ 1 batches in p̄_u's moving average (authors 128).

    Raises:
        ValueError: for C < 1, m outside [0, 1] or W < 1.

    Example:
        >>> da = RelativeDistributionAlignment(2, momentum=0.0, window=1)
        >>> da.update(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.8, 0.2]]))
        >>> da.align(torch.tensor([[0.8, 0.2]]))  # ratio (0.5/0.8, 0.5/0.2)
        tensor([[0.5000, 0.5000]])
    """

    def __init__(
        self, num_classes: int, momentum: float = 0.999, window: int = 128, eps: float = 1e-6
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if window < 1:
            raise ValueError(f"window must be >= 1 (batches in the moving average), got {window}")
        self.momentum, self.eps = momentum, eps
        self.register_buffer("p_labeled", torch.full((num_classes,), 1.0 / num_classes))
        self.register_buffer("history", torch.full((window, num_classes), 1.0 / num_classes))
        self.register_buffer("cursor", torch.zeros((), dtype=torch.long))

    @property
    def p_unlabeled(self) -> Tensor:
        """(C,) p̄_u, the mean of the window."""
        return self.history.mean(dim=0)

    @torch.no_grad()
    def update(self, probs_lb: Tensor, probs_u: Tensor) -> None:
        """One step from labeled (B, C) and unlabeled (μB, C) probabilities."""
        self.p_labeled.lerp_(probs_lb.detach().to(self.p_labeled.dtype).mean(dim=0), 1.0 - self.momentum)
        # Overwrite the oldest slot; the cursor is a device tensor, so no host read.
        slot = torch.nn.functional.one_hot(self.cursor, self.history.shape[0]).bool()[:, None]
        mean_u = probs_u.detach().to(self.history.dtype).mean(dim=0)
        self.history.copy_(torch.where(slot, mean_u, self.history))
        self.cursor.copy_((self.cursor + 1) % self.history.shape[0])

    def align(self, probs_u: Tensor) -> Tensor:
        """(μB, C) aligned probabilities, rows summing to 1."""
        ratio = (self.p_labeled + self.eps) / (self.p_unlabeled + self.eps)
        aligned = probs_u * ratio.to(probs_u.dtype)
        return aligned / aligned.sum(dim=-1, keepdim=True)
