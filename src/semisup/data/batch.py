"""The typed batch every algorithm receives."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class Batch:
    """One training step's inputs, already augmented on the training device.

    Attributes:
        x_lb: (B, *input_shape) labeled inputs after the labeled view.
        y_lb: (B,) their labels.
        u_views: the unlabeled inputs under each view the algorithm asked for, in the order it declared
            them; each (μB, *input_shape). Empty for supervised training.
        u_index: (μB,) ids of the unlabeled examples (positions in the unlabeled pool), for algorithms
            that keep per-example memory.
        u_true: (μB,) true labels of the unlabeled examples where known, -1 elsewhere. Monitoring only
            (``train/pseudo_acc``): an algorithm must never train on it.
        lb_views: the same labeled examples under each further view the algorithm asked for
            (``Algorithm.labeled_extra_views``, e.g. DeFixMatch's strong view), each (B, *input_shape).
    """

    x_lb: Tensor
    y_lb: Tensor
    u_views: tuple[Tensor, ...] = ()
    u_index: Tensor | None = None
    u_true: Tensor | None = None
    lb_views: tuple[Tensor, ...] = ()

    @property
    def n_lb(self) -> int:
        return self.x_lb.shape[0]

    @property
    def n_ulb(self) -> int:
        return self.u_views[0].shape[0] if self.u_views else 0


def pseudo_label_accuracy(
    pseudo: Tensor, u_true: Tensor | None, mask: Tensor | None = None
) -> tuple[Tensor, Tensor] | None:
    """Correct and counted pseudo-labels among used examples whose true label is known (monitoring).

    Returned as a (numerator, denominator) pair of tensors so the engine can average over steps
    without a host sync per step. Args: pseudo (M,) ids; u_true (M,) ids, -1 unknown; mask (M,) > 0 used.
    """
    if u_true is None:
        return None
    keep = u_true >= 0
    if mask is not None:
        keep = keep & (mask > 0)
    keep = keep.float()
    return ((pseudo == u_true).float() * keep).sum(), keep.sum()
