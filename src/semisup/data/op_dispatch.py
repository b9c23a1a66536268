"""Per-sample op dispatch shared by the image and signal RandAugment: group the batch by op."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

Op = Callable[[Tensor, Tensor], Tensor]


def apply_grouped(x: Tensor, op_ids: Tensor, mags: Tensor, fns: Sequence[Op]) -> Tensor:
    """``fns[op_ids[i]](x[i], mags[i])`` for every sample i, one call per op on its group of samples
    (sort by op, split, apply, scatter back). One host sync (the group sizes): the fast path on a CPU.
    x: (N, ...); op_ids: (N,) integers in [0, len(fns)); mags: (N,)."""
    perm = torch.argsort(op_ids)
    counts = torch.bincount(op_ids, minlength=len(fns)).tolist()  # the host sync of this path
    parts = zip(fns, x[perm].split(counts), mags[perm].split(counts), strict=True)
    out = torch.empty_like(x)
    out[perm] = torch.cat([fn(xs, ms) if len(xs) else xs for fn, xs, ms in parts])
    return out
