"""Weak and strong views of table rows ``(N, D)`` (NaN = missing cell), as batched tensor operations.

- weak: Gaussian noise of ``noise_std`` training standard deviations on the numeric columns only
  (category codes are never perturbed; missing cells stay missing).
- strong: SCARF corruption (Bahri et al. 2022, https://arxiv.org/abs/2106.15147): in each row,
  ``round(mask_prob * D)`` features (at least one when ``mask_prob > 0``), chosen uniformly, are replaced by
  values drawn from that feature's empirical marginal over the *training set* (its observed values, so a
  corrupted cell is never missing and a category code stays a valid code). Uncorrupted cells are kept.

Draws come from torch's global RNG on the input's device (seed torch for repeatable views); no host
sync and static shapes, so the views can be compiled like the image views.

Example:
    >>> X = torch.randn(100, 4)
    >>> view = TableView(AugmentConfig(mask_prob=0.5), X, strong=True)
    >>> view(X[:8]).shape
    torch.Size([8, 4])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from semisup.config import AugmentConfig

MAX_MARGINAL_ROWS = 100_000  # rows kept per column for the marginals (a seeded subsample beyond)


def column_marginals(X: Tensor, max_rows: int = MAX_MARGINAL_ROWS) -> tuple[Tensor, Tensor]:
    """Each column's observed (non-NaN) values, packed: ``values (M, D)`` where column j's first
    ``counts[j]`` entries are its values (the rest repeat them, never NaN), ``counts (D,)``.

    More than ``max_rows`` rows: a fixed-seed subsample of the rows is kept.
    """
    if X.ndim != 2:
        raise ValueError(f"table data must be (N, D), got shape {tuple(X.shape)}")
    X = X.detach().float().cpu()
    if len(X) > max_rows:
        X = X[torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:max_rows]]
    seen = ~torch.isnan(X)
    counts = seen.sum(0)
    # Stable sort puts each column's observed values first, in row order.
    order = torch.sort((~seen).to(torch.uint8), dim=0, stable=True).indices
    packed = X.gather(0, order)
    rows = torch.arange(len(X))[:, None] % counts.clamp_min(1)  # wrap the tail onto observed values
    values = torch.nan_to_num(packed.gather(0, rows), nan=0.0)
    return values, counts


def nan_std(X: Tensor) -> Tensor:
    """(D,) unbiased std of each column's observed values (0 with fewer than two)."""
    X = X.detach().float().cpu()
    n = (~torch.isnan(X)).sum(0)
    mean = torch.nansum(X, 0) / n.clamp_min(1)
    var = torch.nansum((X - mean) ** 2, 0) / (n - 1).clamp_min(1)
    return torch.where(n > 1, var.sqrt(), 0.0)


def scarf_mask(n: int, d: int, mask_prob: float, device: torch.device | None = None) -> Tensor:
    """(n, d) bool: exactly ``round(mask_prob * d)`` (at least 1 if ``mask_prob > 0``) True per row."""
    k = 0 if mask_prob == 0 else max(1, round(mask_prob * d))
    ranks = torch.rand(n, d, device=device).argsort(1).argsort(1)
    return ranks < k


def scarf_corrupt(x: Tensor, values: Tensor, counts: Tensor, mask: Tensor) -> Tensor:
    """``x`` with ``x[i, j]`` replaced where ``mask[i, j]`` by ``values[r, j]``, r uniform in 0..counts[j]-1
    (columns without observed values are left as they are)."""
    n, d = x.shape
    idx = (torch.rand(n, d, device=x.device) * counts).long().clamp_max(values.shape[0] - 1)
    drawn = values.gather(0, idx).to(x.dtype)
    return torch.where(mask & (counts > 0), drawn, x)


class TableView:
    """Weak (noise on numeric columns) or strong (SCARF) view of table rows ``(N, D)``.

    Args:
        train_X: (N_train, D) training rows (NaN = missing): the marginals and the numeric stds.
        categorical: indices of the categorical columns (category codes).

    Raises:
        ValueError: a config value out of range, ``train_X`` not 2-D, or an input of another width.
    """

    def __init__(
        self, cfg: AugmentConfig, train_X: Tensor, categorical: Sequence[int] = (), strong: bool = False
    ) -> None:
        if not 0 <= cfg.mask_prob <= 1:
            raise ValueError(f"augment.mask_prob must be in [0, 1], got {cfg.mask_prob}")
        if cfg.noise_std < 0:
            raise ValueError(f"augment.noise_std must be >= 0, got {cfg.noise_std}")
        self.cfg, self.strong = cfg, strong
        self.values, self.counts = column_marginals(train_X)
        d = self.values.shape[1]
        numeric = torch.ones(d, dtype=torch.bool)
        numeric[list(categorical)] = False
        self.noise_scale = torch.where(numeric, nan_std(train_X), 0.0)  # never noise on category codes
        self._cache: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor, Tensor]] = {}

    def _on(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        key = (x.device, x.dtype)
        if key not in self._cache:
            if x.shape[1] != self.values.shape[1]:
                raise ValueError(
                    f"table view fitted on {self.values.shape[1]} columns, input has {x.shape[1]}"
                )
            self._cache[key] = (
                self.values.to(x.device, x.dtype),
                self.counts.to(x.device),
                self.noise_scale.to(x.device, x.dtype),
            )
        return self._cache[key]

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or not x.is_floating_point():
            raise ValueError(f"table views need a float (N, D) tensor, got {x.dtype} {tuple(x.shape)}")
        values, counts, scale = self._on(x)
        if not self.strong:
            return x + torch.randn_like(x) * (self.cfg.noise_std * scale) if self.cfg.noise_std > 0 else x
        mask = scarf_mask(x.shape[0], x.shape[1], self.cfg.mask_prob, x.device)
        return scarf_corrupt(x, values, counts, mask)

    def __repr__(self) -> str:
        return f"TableView(strong={self.strong}, columns={self.values.shape[1]}, cfg={self.cfg})"
