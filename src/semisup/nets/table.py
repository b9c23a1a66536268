"""``TableEncoder``: a table's preprocessing (imputation, scaling, one-hot) as the first layer of the model.

The engine puts it where images and vectors get ``Standardize``: ``nn.Sequential(TableEncoder, net)``,
so a saved model predicts from raw table rows, missing cells included, with no preprocessing to lose.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

_BUFFERS = ("num_idx", "fill", "mean", "std", "ind_pos", "cat_idx", "cat_offset", "cat_size")


class TableEncoder(nn.Module):
    """Table rows ``(N, D)`` (NaN = missing cell) -> features ``(N, out_dim)``.

    - numeric column j: NaN -> ``fill[j]`` (the training median), then ``(x - mean[j]) / std[j]`` (mean and
      std of the observed training values), followed by a 0/1 missing indicator for each numeric column
      that had missing values in training (as scikit-learn's ``SimpleImputer(add_indicator=True)``);
    - categorical column j with K_j categories (cells hold codes 0..K_j-1): one-hot of its code; a missing
      (NaN), non-integer or out-of-range code gives all zeros.

    Output order: standardised numeric columns, missing indicators, one-hot blocks. Everything it needs is
    a buffer, so it is saved in ``state_dict`` and ``from_state`` rebuilds it from a checkpoint alone.

    Args:
        num_idx (Dn,): numeric column indices; fill, mean, std (Dn,) their statistics.
        ind_pos (Dm,): positions in ``num_idx`` that get a missing indicator.
        cat_idx (Dc,): categorical column indices; cat_size (Dc,) their category counts.

    Example:
        >>> X = torch.tensor([[1.0, 0.0], [float("nan"), 2.0], [3.0, 1.0]])
        >>> enc = TableEncoder.from_data(X, categorical={1: 3})
        >>> enc(X).shape  # 1 numeric + 1 indicator + 3 one-hot
        torch.Size([3, 5])
    """

    def __init__(
        self,
        num_idx: Tensor,
        fill: Tensor,
        mean: Tensor,
        std: Tensor,
        ind_pos: Tensor,
        cat_idx: Tensor,
        cat_size: Tensor,
    ) -> None:
        super().__init__()
        dn = num_idx.numel()
        if not fill.shape == mean.shape == std.shape == (dn,):
            raise ValueError(f"fill, mean and std must have shape ({dn},) like num_idx")
        if not bool((std > 0).all()):
            raise ValueError("std must be > 0 everywhere")
        if cat_idx.shape != cat_size.shape or not bool((cat_size >= 1).all()):
            raise ValueError("cat_idx and cat_size must have the same shape, with sizes >= 1")
        if ind_pos.numel() and not bool(((ind_pos >= 0) & (ind_pos < dn)).all()):
            raise ValueError(f"ind_pos must index the {dn} numeric columns")
        offset = torch.cumsum(cat_size, 0) - cat_size
        for name, t in zip(
            _BUFFERS, (num_idx, fill, mean, std, ind_pos, cat_idx, offset, cat_size), strict=True
        ):
            self.register_buffer(name, t.detach().clone())
        self.num_features = dn + cat_idx.numel()
        self.cat_width = int(cat_size.sum())
        self.out_dim = dn + ind_pos.numel() + self.cat_width

    @classmethod
    def from_data(
        cls, X: Tensor, categorical: dict[int, int] | None = None, indicators: bool = True
    ) -> TableEncoder:
        """Statistics of the training rows ``X (N, D)``; ``categorical``: column index -> category count.

        ``fill`` is the median of each column's observed values (0 for a column with none); ``std`` the
        unbiased std of them, clamped at 1e-6 so a constant column maps to 0.
        """
        if X.ndim != 2:
            raise ValueError(f"table data must be (N, D), got shape {tuple(X.shape)}")
        categorical = categorical or {}
        d = X.shape[1]
        bad = [j for j in categorical if not 0 <= j < d]
        if bad:
            raise ValueError(f"categorical column indices {bad} are outside 0..{d - 1}")
        X = X.detach().float()
        num = [j for j in range(d) if j not in categorical]
        num_idx = torch.tensor(num, dtype=torch.long)
        V = X[:, num_idx]
        seen = ~torch.isnan(V)
        n = seen.sum(0)
        mean = torch.nansum(V, 0) / n.clamp_min(1)
        var = torch.nansum((V - mean) ** 2, 0) / (n - 1).clamp_min(1)
        std = torch.where(n > 1, var.sqrt(), torch.ones_like(var)).clamp_min(1e-6)
        fill = torch.nan_to_num(torch.nanmedian(V, 0).values if len(V) else mean, nan=0.0)
        mean = torch.where(n > 0, mean, torch.zeros_like(mean))
        ind_pos = torch.nonzero(~seen.all(0)).flatten() if indicators else torch.zeros(0, dtype=torch.long)
        cats = sorted(categorical)
        cat_size = torch.tensor([int(categorical[j]) for j in cats], dtype=torch.long)
        return cls(num_idx, fill, mean, std, ind_pos, torch.tensor(cats, dtype=torch.long), cat_size)

    @classmethod
    def from_state(cls, state: dict[str, Tensor], prefix: str = "") -> TableEncoder:
        """The encoder saved in ``state`` under ``prefix`` (e.g. ``"0."`` in the engine's model)."""
        missing = [prefix + k for k in _BUFFERS if prefix + k not in state]
        if missing:
            raise ValueError(f"the state holds no table encoder: {missing} missing")
        b = {k: state[prefix + k] for k in _BUFFERS if k != "cat_offset"}
        return cls(b["num_idx"], b["fill"], b["mean"], b["std"], b["ind_pos"], b["cat_idx"], b["cat_size"])

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"TableEncoder expects (N, {self.num_features}) rows, got {tuple(x.shape)}")
        num = x[:, self.num_idx]
        miss = torch.isnan(num)
        parts = [(torch.where(miss, self.fill.to(x.dtype), num) - self.mean) / self.std]
        if self.ind_pos.numel():
            parts.append(miss[:, self.ind_pos].to(x.dtype))
        if self.cat_idx.numel():
            code = x[:, self.cat_idx]
            # NaN fails every comparison, so missing codes are never valid.
            valid = (code >= 0) & (code < self.cat_size) & (code == torch.round(code))
            idx = self.cat_offset + torch.where(valid, code, torch.zeros_like(code)).long()
            parts.append(x.new_zeros(len(x), self.cat_width).scatter(1, idx, valid.to(x.dtype)))
        return torch.cat(parts, dim=1)

    def extra_repr(self) -> str:
        return (
            f"numeric={self.num_idx.numel()}, indicators={self.ind_pos.numel()}, "
            f"categorical={self.cat_idx.numel()}, out_dim={self.out_dim}"
        )
