"""A first-in-first-out memory of the last K rows pushed (embeddings, class probabilities, labels).

CoMatch keeps the weak-view embeddings and class probabilities of the last K examples (Li et al. 2021,
https://arxiv.org/abs/2011.11183), SimMatch the embeddings and labels of labeled examples (Zheng et
al. 2022, https://arxiv.org/abs/2203.06915), and both align the distribution of their pseudo-labels to
the mean of the last batches' predictions. ``MemoryQueue`` is that memory, with its write pointer and
fill count as buffers so checkpoints carry them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MemoryQueue(nn.Module):
    """Named fields of K rows each, overwritten oldest first; ``count`` rows are valid (≤ K).

    Under DDP push what ``ctx.dist.all_gather`` returns (the global batch), so every rank holds the same
    memory. Pushing N > K rows keeps their last K. Nothing here reads a device value on the host.

    Args:
        size: K ≥ 1 rows.
        widths: field name -> row width, e.g. ``MemoryQueue(2560, z=64, p=10)``; fields start at 0.

    Raises:
        ValueError: K < 1, no field, a width < 1, or a field name that clashes with the pointer.

    Example:
        >>> q = MemoryQueue(2, p=1)
        >>> q.push(p=torch.tensor([[1.0], [2.0], [3.0]]))  # keeps the last 2
        >>> q.p.flatten().tolist(), int(q.count), bool(q.full)
        ([3.0, 2.0], 2, True)
    """

    def __init__(self, size: int, **widths: int) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"memory size must be >= 1, got {size}")
        if not widths or any(w < 1 for w in widths.values()):
            raise ValueError(f"give each field a width >= 1, got {widths}")
        if {"ptr", "count"} & widths.keys():
            raise ValueError("'ptr' and 'count' are the queue's own buffers: name the fields otherwise")
        self.size, self.fields = size, tuple(widths)
        for name, w in widths.items():
            self.register_buffer(name, torch.zeros(size, w))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @property
    def full(self) -> Tensor:
        """A bool scalar tensor: K rows have been pushed."""
        return self.count >= self.size

    def rows(self, name: str) -> Tensor:
        """(K, width) copy of a field (safe to use in a graph while the queue is pushed to later)."""
        return getattr(self, name).clone()

    def mean(self, name: str) -> Tensor:
        """(width,) mean of a field over its valid rows (zeros while empty)."""
        valid = (torch.arange(self.size, device=self.count.device) < self.count).unsqueeze(1)
        buf = getattr(self, name)
        return (buf * valid).sum(0) / self.count.clamp_min(1).to(buf.dtype)

    @torch.no_grad()
    def push(self, **rows: Tensor) -> None:
        """Write (N, width) rows for every field (the same N) over the oldest ones."""
        if set(rows) != set(self.fields):
            raise ValueError(f"push every field {self.fields}, got {tuple(rows)}")
        n = {int(r.shape[0]) for r in rows.values()}
        if len(n) != 1:
            raise ValueError(f"every field needs the same number of rows, got {n}")
        (n_rows,) = n
        keep = min(n_rows, self.size)
        start = self.ptr + (n_rows - keep)  # the first kept row's slot
        index = (start + torch.arange(keep, device=self.ptr.device)) % self.size
        for name, r in rows.items():
            buf = getattr(self, name)
            buf.index_copy_(0, index, r[n_rows - keep :].detach().to(buf.dtype).reshape(keep, -1))
        self.ptr.copy_((self.ptr + n_rows) % self.size)
        self.count.copy_((self.count + n_rows).clamp(max=self.size))
