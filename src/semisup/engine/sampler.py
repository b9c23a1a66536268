"""Endless, stateless index streams: the batch at step t is a pure function of (seed, step, rank).

A stateless stream makes resuming exact without saving sampler state, and lets every DDP rank take a
disjoint slice of one shared permutation per epoch (like ``DistributedSampler``, but endless). Each
epoch's permutation is seeded by its own child of the stream's ``SeedSequence`` (``semisup.seeds``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from semisup.seeds import child, stream, torch_seed


class IndexStream:
    """Indices into a pool of ``n`` examples, ``batch_size`` per rank per step, reshuffled every epoch.

    Args:
        n: pool size. batch_size: indices per rank per step. seed: the stream's ``SeedSequence``
            (``semisup.seeds.stream(run_seed, "labeled_batches")``), or an int taken as its entropy.
        rank, world_size: this process's slot among the DDP ranks. device: where indices live.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int | np.random.SeedSequence,
        rank: int = 0,
        world_size: int = 1,
        device: str | torch.device = "cpu",
    ) -> None:
        if n < 1:
            raise ValueError("cannot draw batches from an empty pool")
        self.n, self.batch_size = n, batch_size
        self.seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.rank, self.world_size, self.device = rank, world_size, torch.device(device)
        self._perms: dict[int, Tensor] = {}

    def _perm(self, epoch: int) -> Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 4:  # only the epochs around the current step are ever needed
                self._perms.pop(min(self._perms))
            g = torch.Generator().manual_seed(torch_seed(child(self.seed, epoch)))
            self._perms[epoch] = torch.randperm(self.n, generator=g).to(self.device)
        return self._perms[epoch]

    def indices(self, step: int) -> Tensor:
        """(batch_size,) int64 indices for ``step`` on this rank."""
        start = (step * self.world_size + self.rank) * self.batch_size
        first, last = start // self.n, (start + self.batch_size - 1) // self.n
        if first == last:  # the common case: one slice, no host work beyond slicing
            off = start - first * self.n
            return self._perm(first)[off : off + self.batch_size]
        parts, pos, end = [], start, start + self.batch_size
        while pos < end:
            epoch, off = divmod(pos, self.n)
            take = min(self.n - off, end - pos)
            parts.append(self._perm(epoch)[off : off + take])
            pos += take
        return torch.cat(parts)


def step_seed(seed: int, step: int, rank: int) -> int:
    """The torch seed for augmentation and dropout at (run seed, step, rank): the ``augment`` stream's
    child (step, rank), independent of the batch streams and of every other seed's streams."""
    return torch_seed(stream(seed, "augment", step, rank))
