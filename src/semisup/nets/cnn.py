"""A small CNN for small images, ``(C, H, W)`` from 8x8 (sklearn digits) to 32x32 (CIFAR)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from semisup.nets.build import check_image_shape, check_num_classes, resolve_config
from semisup.registry import NETS


def _conv_bn_act(c_in: int, c_out: int) -> list[nn.Module]:
    # No conv bias: the BatchNorm that follows cancels it.
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.1)]


@NETS.register("cnn")
class CNN(nn.Module):
    """Three stages of two conv3x3-BN-LeakyReLU(0.1) layers, widths ``w, 2w, 4w``; global average pool;
    linear.

    A 2x2 max-pool follows stages 1 and 2 only while the map is still at least 8 pixels on its short
    side, so 8x8 digits keep a 4x4 map instead of shrinking to 1x1: 8 -> 4 -> 4, 28 -> 14 -> 7,
    32 -> 16 -> 8. Shapes: ``x (N, C, H, W)`` -> ``features (N, 4w)`` -> ``logits (N, num_classes)``.

    Raises:
        ValueError: ``input_shape`` is not ``(C, H, W)`` with ``H, W >= 8``, or a hyper-parameter is
            out of range.
    """

    @dataclass
    class Config:
        width: int = 32  # channels of the first stage (w)
        dropout: float = 0.0  # before the classifier

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, cfg: Config | None = None) -> None:
        super().__init__()
        cfg = resolve_config(type(self), cfg)
        check_num_classes(num_classes)
        c, h, w = check_image_shape("cnn", input_shape, min_side=8)
        if cfg.width < 1:
            raise ValueError(f"width must be >= 1, got {cfg.width}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
        self.cfg = cfg
        layers: list[nn.Module] = []
        side = min(h, w)
        for i, width in enumerate((cfg.width, 2 * cfg.width, 4 * cfg.width)):
            if i > 0 and side >= 8:
                layers.append(nn.MaxPool2d(2))
                side //= 2
            layers += _conv_bn_act(c, width) + _conv_bn_act(width, width)
            c = width
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.feature_dim = c
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(c, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """Globally pooled features ``(N, 4w)`` of ``x (N, C, H, W)``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)``."""
        return self.classifier(self.dropout(self.features(x)))
