"""Wide ResNet-28-2, the backbone of FixMatch and most SSL image benchmarks.

References: Zagoruyko & Komodakis, "Wide Residual Networks", 2016, https://arxiv.org/abs/1605.07146;
Sohn et al., "FixMatch", 2020, https://arxiv.org/abs/2001.07685
(google-research/fixmatch ``libml/models.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from semisup.nets.build import check_image_shape, check_num_classes, resolve_config
from semisup.registry import NETS

BN_MOMENTUM = 0.001  # FixMatch's PyTorch ports; TF's decay 0.999 is the same running average


def _bn_act(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels, momentum=BN_MOMENTUM), nn.LeakyReLU(0.1))


class _Block(nn.Module):
    """Pre-activation basic block: BN-act-conv3x3(stride)-BN-act-(dropout)-conv3x3, plus the shortcut.

    As in google-research/fixmatch, conv1 always reads the activated input; the shortcut reads the raw
    input unless ``activate_before_residual`` (first group only). The common PyTorch port instead drops
    the first BN's output when the width changes, which leaves that BN without gradient.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float, activate_before_residual: bool):
        super().__init__()
        self.act1 = _bn_act(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.act2 = _bn_act(c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.activate_before_residual = activate_before_residual
        # A 1x1 projection only where the shape changes; otherwise the identity.
        same = c_in == c_out and stride == 1
        self.shortcut = nn.Identity() if same else nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        a = self.act1(x)
        out = self.conv2(self.dropout(self.act2(self.conv1(a))))
        return self.shortcut(a if self.activate_before_residual else x) + out


@NETS.register("wrn28_2")
class WideResNet(nn.Module):
    """WRN-``depth``-``k``: conv3x3(16), three groups of ``(depth - 4) / 6`` blocks of widths
    ``16k, 32k, 64k`` (32, 64, 128 for k=2) at strides 1, 2, 2, then BN-LeakyReLU(0.1), global average
    pool, linear.

    WRN-28-2 on CIFAR-10 (3x32x32, 10 classes) has 1.47M parameters. Any ``(C, H, W)`` works (e.g.
    1x28x28 MNIST). Shapes: ``x (N, C, H, W)`` -> ``features (N, 64k)`` -> ``logits (N, num_classes)``.

    Raises:
        ValueError: ``input_shape`` is not ``(C, H, W)``, ``(depth - 4) % 6 != 0``, or a hyper-parameter
            is out of range.
    """

    @dataclass
    class Config:
        depth: int = 28  # 6n + 4 conv layers: n blocks per group
        widen_factor: int = 2  # k
        dropout: float = 0.0  # inside each block, between the two convs

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, cfg: Config | None = None) -> None:
        super().__init__()
        cfg = resolve_config(type(self), cfg)
        check_num_classes(num_classes)
        c, _, _ = check_image_shape("wrn28_2", input_shape)
        if cfg.depth < 10 or (cfg.depth - 4) % 6 != 0:
            raise ValueError(f"depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {cfg.depth}")
        if cfg.widen_factor < 1:
            raise ValueError(f"widen_factor must be >= 1, got {cfg.widen_factor}")
        if not 0.0 <= cfg.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {cfg.dropout}")
        self.cfg = cfg
        n = (cfg.depth - 4) // 6
        k = cfg.widen_factor
        widths = (16, 16 * k, 32 * k, 64 * k)
        blocks: list[nn.Module] = [nn.Conv2d(c, widths[0], 3, padding=1, bias=False)]
        for g, stride in enumerate((1, 2, 2)):
            for i in range(n):
                c_in = widths[g] if i == 0 else widths[g + 1]
                blocks.append(
                    _Block(c_in, widths[g + 1], stride if i == 0 else 1, cfg.dropout, g == 0 and i == 0)
                )
        self.body = nn.Sequential(*blocks, _bn_act(widths[3]), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.feature_dim = widths[3]
        self.classifier = nn.Linear(widths[3], num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # FixMatch's initialisation (kekmodel/FixMatch-pytorch).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: Tensor) -> Tensor:
        """Globally pooled features ``(N, 64k)`` of ``x (N, C, H, W)``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)``."""
        return self.classifier(self.features(x))
