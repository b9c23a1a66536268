"""Weak and strong views of signals ``(N, C, L)``, as batched tensor operations on the batch's device.

- weak: a random shift of up to ``translate * L`` steps, not circular: the series is cropped on one side
  and padded with its edge value on the other, then the amplitude is scaled by U(0.8, 1.2) per sample
  (the signal analogue of FixMatch's flip-and-shift view).
- strong: weak, then ``strong_ops`` ops per sample from ``SIGNAL_OPS`` (a 1-D RandAugment over the
  augmentations of Um et al. 2017, https://arxiv.org/abs/1706.00527, and Iwana & Uchida 2021,
  https://arxiv.org/abs/2007.15951) with FixMatch's random magnitude per sample when
  ``strong_magnitude`` is None (Sohn et al. 2020, https://arxiv.org/abs/2001.07685), then a cutout
  segment set to each sample-channel's mean.

The cutout segment covers ``cutout ** 2`` of the length: the share of the input that the image view's
square of side ``cutout`` covers (0.25 of the series at the default 0.5).

Example:
    >>> view = SignalView(AugmentConfig(), strong=True)
    >>> view(torch.randn(8, 3, 100)).shape
    torch.Size([8, 3, 100])
"""

from __future__ import annotations

import torch
from torch import Tensor

from semisup.config import AugmentConfig
from semisup.data import signal_ops
from semisup.data.signal_ops import signal_rand_augment
from semisup.data.views import _check

AMPLITUDE = 0.2  # weak view: amplitude factor in 1 +- AMPLITUDE


def shift_edge(x: Tensor, translate: float) -> Tensor:
    """Shift each sample by its own integer d, |d| <= ``round(translate * L)``: ``out[t] = x[t - d]``,
    clamped to the first / last step (edge padding, not circular). One gather for the batch."""
    n, c, length = x.shape
    p = min(round(translate * length), length - 1)
    if p == 0:
        return x
    d = (signal_ops._uniform((n, 1), x) * (2 * p + 1)).long().clamp(max=2 * p) - p
    idx = (torch.arange(length, device=x.device) - d).clamp(0, length - 1)
    return x.gather(2, idx[:, None, :].expand(n, c, length))


def amplitude_scale(x: Tensor, amplitude: float) -> Tensor:
    """Multiply each sample by U(1 - amplitude, 1 + amplitude), the same factor for all its channels."""
    if amplitude == 0:
        return x
    u = 2 * signal_ops._uniform((x.shape[0], 1, 1), x).to(x.dtype) - 1
    return x * (1 + amplitude * u)


def cutout_segment(x: Tensor, size: int) -> Tensor:
    """Set ``size`` steps around a uniform random centre (clipped at the ends, as FixMatch's cutout) to
    each sample-channel's mean, on all channels."""
    n, _, length = x.shape
    if size <= 0:
        return x
    start = (signal_ops._uniform((n, 1), x) * length).long().clamp(max=length - 1) - size // 2
    t = torch.arange(length, device=x.device)
    inside = ((t >= start) & (t < start + size))[:, None, :]
    return torch.where(inside, x.mean(2, keepdim=True), x)


class SignalView:
    """Weak (edge shift + amplitude scale) or strong (weak + 1-D RandAugment + cutout) view of
    ``(N, C, L)`` float signals; the output keeps the input's shape, dtype and device.

    Half-precision inputs are augmented in float32 and cast back. ``branch_free`` (None: off the CPU)
    makes the strong view free of host syncs with static shapes (see ``apply_signal_ops``).

    Raises:
        ValueError: a config value out of range, or an input that is not a 3-D float tensor.
    """

    def __init__(
        self,
        cfg: AugmentConfig,
        strong: bool = False,
        branch_free: bool | None = None,
        amplitude: float = AMPLITUDE,
    ):
        _check(cfg)
        if not 0 <= amplitude < 1:
            raise ValueError(f"amplitude must be in [0, 1), got {amplitude}")
        self.cfg, self.strong, self.branch_free, self.amplitude = cfg, strong, branch_free, amplitude

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or not x.is_floating_point():
            raise ValueError(f"signal views need a float (N, C, L) tensor, got {x.dtype} {tuple(x.shape)}")
        cfg = self.cfg
        out = x if x.dtype in (torch.float32, torch.float64) else x.float()
        out = amplitude_scale(shift_edge(out, cfg.translate), self.amplitude)
        if self.strong:
            out = signal_rand_augment(out, cfg.strong_ops, cfg.strong_magnitude, self.branch_free)
            out = cutout_segment(out, round(cfg.cutout**2 * x.shape[2]))
        return out.to(x.dtype)

    def __repr__(self) -> str:
        return f"SignalView(strong={self.strong}, cfg={self.cfg})"
