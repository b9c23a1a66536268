"""The 1-D ResNet of Wang, Yan & Oates 2017, "Time Series Classification from Scratch with Deep Neural
Networks: A Strong Baseline", IJCNN, https://arxiv.org/abs/1611.06455."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from semisup.nets.build import check_num_classes, resolve_config
from semisup.nets.cnn1d import check_signal_shape
from semisup.registry import NETS

KERNELS = (8, 5, 3)  # the three convolutions of every residual block


class ResidualBlock1d(nn.Module):
    """conv8-BN-ReLU, conv5-BN-ReLU, conv3-BN (``same`` padding, stride 1), plus a shortcut (1x1 conv +
    BN when the width changes, BN otherwise, as the paper's code), then ReLU.
    (N, c_in, L) -> (N, c_out, L)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, k in enumerate(KERNELS):
            # "same" padding, spelled out: PyTorch warns on padding="same" with an even kernel
            layers += [nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0)]
            layers += [nn.Conv1d(c_in if i == 0 else c_out, c_out, k, bias=False)]
            layers += [nn.BatchNorm1d(c_out)] + ([nn.ReLU(inplace=True)] if i < len(KERNELS) - 1 else [])
        self.body = nn.Sequential(*layers)
        expand = [nn.Conv1d(c_in, c_out, 1, bias=False)] if c_in != c_out else []
        self.shortcut = nn.Sequential(*expand, nn.BatchNorm1d(c_out))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.body(x) + self.shortcut(x))


@NETS.register("resnet1d")
class ResNet1d(nn.Module):
    """Three residual blocks of widths ``w, 2w, 2w`` (paper: 64, 128, 128), global average pool, linear.

    No pooling inside: the cost grows with L (about 0.6 M multiply-adds per step of the series at
    w = 64); prefer ``cnn1d`` for long series on a CPU or lower ``width``.
    Shapes: ``x (N, C, L)`` -> ``features (N, 2w)`` -> ``logits (N, num_classes)``.

    Raises:
        ValueError: ``input_shape`` is not ``(C, L)``, or a hyper-parameter is out of range.

    Example:
        >>> import torch
        >>> net = ResNet1d((1, 64), 3, ResNet1d.Config(width=8))
        >>> net(torch.randn(2, 1, 64)).shape
        torch.Size([2, 3])
    """

    @dataclass
    class Config:
        width: int = 64  # channels of the first block (w); the paper's 64
        dropout: float = 0.0  # before the classifier

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, cfg: Config | None = None) -> None:
        super().__init__()
        cfg = resolve_config(type(self), cfg)
        check_num_classes(num_classes)
        c, _ = check_signal_shape("resnet1d", input_shape)
        if cfg.width < 1:
            raise ValueError(f"width must be >= 1, got {cfg.width}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
        self.cfg = cfg
        w = cfg.width
        blocks = [ResidualBlock1d(c, w), ResidualBlock1d(w, 2 * w), ResidualBlock1d(2 * w, 2 * w)]
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.feature_dim = 2 * w
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(2 * w, num_classes)

    def features(self, x: Tensor) -> Tensor:
        """Globally pooled features ``(N, 2w)`` of ``x (N, C, L)``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)``."""
        return self.classifier(self.dropout(self.features(x)))
