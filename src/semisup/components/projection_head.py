"""An L2-normalised projection of a classifier net's features, trained beside the classifier.

CoMatch (Li et al. 2021) and SimMatch (Zheng et al. 2022) learn low-dimensional embeddings next to the
class logits with a 2-layer MLP on the encoder's features. An algorithm puts it on the net as the
auxiliary head ``"projection"`` (``AuxHeadsState.attach_heads``): trained, averaged by the EMA and
synchronised by DDP like any layer, left out of the model's ``state_dict`` (a saved model stays the
plain classifier) and carried in the algorithm's state instead, so checkpoints restore it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from semisup.components.aux_heads import AuxiliaryHeads

NAME = "projection"


class EmbeddingProjectionHead(nn.Sequential):
    """Linear(d, h) → ReLU → Linear(h, out), then L2-normalised rows: (N, d) -> (N, out).

    Raises:
        ValueError: a width < 1.

    Example:
        >>> import torch
        >>> z = EmbeddingProjectionHead(8, 8, 4)(torch.randn(3, 8))
        >>> z.shape, torch.allclose(z.norm(dim=1), torch.ones(3))
        (torch.Size([3, 4]), True)
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        if min(in_dim, hidden_dim, out_dim) < 1:
            raise ValueError(f"projection widths must be >= 1, got {in_dim}, {hidden_dim}, {out_dim}")
        super().__init__(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(super().forward(x), dim=1)


def projection_head(out_dim: int) -> Callable[[int], nn.Module]:
    """Factory for ``attach_aux_heads``: d features -> ``EmbeddingProjectionHead(d, d, out_dim)`` (the
    hidden width is the encoder's, as in both papers' heads)."""
    return lambda d: EmbeddingProjectionHead(d, d, out_dim)


def logits_and_embeddings(model: nn.Module, heads: AuxiliaryHeads, x: Tensor) -> tuple[Tensor, Tensor]:
    """One forward pass: (N, C) logits and (N, out_dim) embeddings ``heads["projection"]`` of the same
    features."""
    logits = model(x)
    return logits, heads[NAME](heads.take_features())
