"""``table_mlp``: the MLP with defaults for tables (the default net of kind ``table``)."""

from __future__ import annotations

from dataclasses import dataclass

from semisup.nets.mlp import MLP
from semisup.registry import NETS


@NETS.register("table_mlp")
class TableMLP(MLP):
    """``MLP`` for the encoded rows of a table (``TableEncoder`` output, ``(D_enc,)``).

    Defaults follow the simple tabular MLPs that hold their own against tuned trees on small and medium
    tables (Gorishniy et al. 2021, https://arxiv.org/abs/2106.11959; SCARF's 256-wide encoder, Bahri et al.
    2022): width 256, dropout 0.1, and no BatchNorm, so a small or single-class-heavy labeled batch never
    sets the statistics the unlabeled batch is normalised with.

    Example:
        >>> import torch
        >>> net = TableMLP((12,), 3)
        >>> net(torch.randn(4, 12)).shape
        torch.Size([4, 3])
    """

    @dataclass
    class Config(MLP.Config):
        hidden: tuple[int, ...] = (256, 256)
        dropout: float = 0.1
        batch_norm: bool = False
