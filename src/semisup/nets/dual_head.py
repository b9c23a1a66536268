"""Two classifier heads on one backbone: a standard head and a class-balanced head that predicts.

ABC (Lee et al. 2021) and ACR (Wei & Gan 2023) train a second linear head on the backbone's features
with a class-balanced objective and predict with it. Here the net's ``classifier`` is replaced by a
:class:`DualHeadClassifier`: the model's output is the balanced head's logits (so evaluation, the EMA
copy, ``predict`` and checkpoints need nothing new), and inside :func:`both_heads` it is both heads'
logits side by side, so one forward pass (through DDP's wrapper like any other) trains both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


class DualHeadClassifier(nn.Module):
    """``standard`` and ``balanced`` heads on the same features ``(N, D)``.

    ``forward`` returns the balanced logits ``(N, C)``; with ``both`` set (:func:`both_heads`) it returns
    ``cat([standard, balanced], -1)`` of shape ``(N, 2C)``.
    """

    def __init__(self, standard: nn.Module, balanced: nn.Module) -> None:
        super().__init__()
        self.standard, self.balanced = standard, balanced
        self.both = False

    def forward(self, features: Tensor) -> Tensor:
        if self.both:
            return torch.cat([self.standard(features), self.balanced(features)], dim=-1)
        return self.balanced(features)


def add_dual_head(model: nn.Module) -> DualHeadClassifier:
    """Give the net in ``model`` (the engine's ``Sequential(encoder, net)`` or a net) a
    :class:`DualHeadClassifier`: its classifier becomes the standard head, and a fresh head of the same
    shape the balanced one. Returns the new classifier (the same object if it already has one).

    Raises:
        ValueError: the net has no linear ``classifier`` (the built-in nets have one).
    """
    net = model[1] if isinstance(model, nn.Sequential) and len(model) == 2 else model
    head = getattr(net, "classifier", None)
    if isinstance(head, DualHeadClassifier):
        return head
    if not isinstance(head, nn.Linear):
        raise ValueError(
            f"{type(net).__name__} has no linear 'classifier' to pair with a balanced head: ABC and ACR "
            "need a net like the built-in mlp, cnn and wrn28_2"
        )
    balanced = nn.Linear(head.in_features, head.out_features).to(head.weight.device, head.weight.dtype)
    net.classifier = DualHeadClassifier(head, balanced)
    return net.classifier


@contextmanager
def both_heads(head: DualHeadClassifier) -> Iterator[None]:
    """Within the block the model returns ``(N, 2C)``: standard logits, then balanced logits."""
    head.both = True
    try:
        yield
    finally:
        head.both = False
