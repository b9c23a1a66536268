"""Multi-layer perceptron for flat feature vectors ``(D,)`` (tabular data, flattened digits)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from semisup.nets.build import check_num_classes, resolve_config
from semisup.registry import NETS


@NETS.register("mlp")
class MLP(nn.Module):
    """``[Linear -> BatchNorm1d -> ReLU -> Dropout] x len(hidden)``, then a linear classifier.

    Shapes: ``x (N, D)`` -> ``features (N, feature_dim)`` -> ``logits (N, num_classes)``, where
    ``feature_dim = hidden[-1]`` (``D`` when ``hidden`` is empty).

    Raises:
        ValueError: ``input_shape`` is not ``(D,)`` (images go to ``'cnn'`` or ``'wrn28_2'``), or a
            hyper-parameter is out of range.

    Example:
        >>> import torch
        >>> net = MLP((64,), 10, MLP.Config(hidden=(128,)))
        >>> net(torch.randn(4, 64)).shape
        torch.Size([4, 10])
    """

    @dataclass
    class Config:
        hidden: tuple[int, ...] = (256, 256)  # widths of the hidden layers
        dropout: float = 0.0  # after each hidden block
        batch_norm: bool = True

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, cfg: Config | None = None) -> None:
        super().__init__()
        cfg = resolve_config(type(self), cfg)
        check_num_classes(num_classes)
        if len(input_shape) != 1 or input_shape[0] < 1:
            hint = " For images (C, H, W) use 'cnn' or 'wrn28_2'." if len(input_shape) >= 2 else ""
            raise ValueError(f"'mlp' needs flat inputs of shape (D,), got {tuple(input_shape)}.{hint}")
        if any(h < 1 for h in cfg.hidden):
            raise ValueError(f"hidden widths must be >= 1, got {cfg.hidden}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = input_shape[0]
        for h in cfg.hidden:
            # A bias before BatchNorm is cancelled by its mean subtraction, so leave it out.
            layers.append(nn.Linear(width, h, bias=not cfg.batch_norm))
            if cfg.batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU(inplace=True))
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.feature_dim = width
        self.classifier = nn.Linear(width, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features ``(N, feature_dim)`` of ``x (N, D)``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)``."""
        return self.classifier(self.features(x))
