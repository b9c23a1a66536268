"""Collectives across DDP ranks for algorithm state, losses and logs: identity on one process.

Under DDP every rank sees only its own batch. Whatever is computed from the batch as a whole (EMAs of
the confidence, the class histogram, per-example memories, contrastive negatives) must come from the
global batch, so one process and W processes compute the same thing. Algorithms reach the collectives
through ``StepContext.dist``; the engine gives them a :class:`FabricCollective` under DDP and a plain
:class:`Collective` otherwise.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

REDUCE_OPS = ("sum", "mean")


class Collective:
    """The collectives of a world of one process: every operation returns its input.

    Attributes:
        world_size: W, the number of processes. rank: this process's index in 0..W-1.
    """

    world_size: int = 1
    rank: int = 0

    def all_gather(self, t: Tensor, grad: bool = False) -> Tensor:
        """Every rank's ``t`` (B, ...) concatenated along dim 0 in rank order: (W·B, ...).

        With ``grad`` the result is differentiable: the gradient of each rank's slice is the sum over
        ranks of the gradients reaching it, so DDP's gradient average equals the gradient of the mean
        of the ranks' losses (a loss over the gathered batch gets its full gradient). Without it the
        result is detached. Every rank must pass the same shape.
        """
        return t if grad else t.detach()

    def all_reduce(self, t: Tensor, op: str = "sum") -> Tensor:
        """Element-wise ``op`` ("sum" | "mean") of ``t`` over the ranks, as a new tensor."""
        if op not in REDUCE_OPS:
            raise ValueError(f"op must be one of {', '.join(REDUCE_OPS)}, got {op!r}")
        return t


class FabricCollective(Collective):
    """The collectives of a launched Lightning ``Fabric`` (DDP over gloo or NCCL): its world size and
    rank, and the process group it initialised."""

    def __init__(self, fabric: Any) -> None:
        self.fabric = fabric
        self.world_size, self.rank = int(fabric.world_size), int(fabric.global_rank)

    def all_gather(self, t: Tensor, grad: bool = False) -> Tensor:
        if grad and t.requires_grad:
            return _GatherWithGrad.apply(t, self)
        return self._gather(t.detach())

    def all_reduce(self, t: Tensor, op: str = "sum") -> Tensor:
        super().all_reduce(t, op)  # validates op
        out = _sum_over_ranks(t.detach())
        return out / self.world_size if op == "mean" else out

    def _gather(self, t: Tensor) -> Tensor:
        # torch.distributed directly, in the process group Fabric launched: Fabric's all_gather goes
        # through torch.distributed.nn.functional, deprecated (a warning per process).
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        torch.distributed.all_gather(parts, t.contiguous())
        return torch.cat(parts)


def _sum_over_ranks(t: Tensor) -> Tensor:
    """A summed copy of ``t``. torch.distributed directly: Fabric's ``all_reduce`` puts a barrier before
    every call, and a collective already waits for every rank."""
    out = t.contiguous().clone()
    torch.distributed.all_reduce(out)
    return out


class _GatherWithGrad(torch.autograd.Function):
    """Forward: all_gather. Backward: all_reduce(sum) of the gathered gradient, then this rank's slice
    (as SimCLR's cross-replica concat and lightly's GatherLayer do). A reduce-scatter would move less
    data, but gloo has none; the gathered batch is small (embeddings or logits)."""

    @staticmethod
    def forward(ctx: Any, t: Tensor, coll: FabricCollective) -> Tensor:
        ctx.coll, ctx.n = coll, t.shape[0]
        return coll._gather(t.detach())

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        coll: FabricCollective = ctx.coll
        total = _sum_over_ranks(grad)
        return total[coll.rank * ctx.n : (coll.rank + 1) * ctx.n], None
