"""Weak and strong views of a batch, as batched tensor operations on the batch's own device.

Every sample draws its own augmentation from torch's global RNG (seed torch for repeatable views);
there is no per-sample Python loop. Images are ``(N, C, H, W)`` floats in ``[0, 1]`` with any
channel count; vectors are ``(N, D)``. Outputs keep the input's shape, dtype and device.

- image weak: random integer translation (reflect padding) of up to ``translate * side`` pixels,
  optional horizontal flip (FixMatch's weak view).
- image strong: weak, then ``strong_ops`` RandAugment ops per sample (Cubuk et al. 2020,
  https://arxiv.org/abs/1909.13719) with FixMatch's random per-sample magnitude when
  ``strong_magnitude`` is None (Sohn et al. 2020, https://arxiv.org/abs/2001.07685), then cutout.
- vector weak: Gaussian noise of ``noise_std`` per-feature standard deviations.
- vector strong: weak, then per-entry corruption: swap noise or the feature's batch mean.

Example:
    >>> views = make_views("image", AugmentConfig())
    >>> x = torch.rand(8, 3, 32, 32)
    >>> views["strong"](x).shape
    torch.Size([8, 3, 32, 32])
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.config import AugmentConfig

View = Callable[[Tensor], Tensor]
KINDS = ("image", "vector")
GRAY = 0.5  # fill of cutout and of pixels that geometric ops move in from outside (FixMatch: 128)


# ---- RandAugment ops: fn(x (n, C, H, W) in [0, 1], m (n,) in [-1, 1]) -> (n, C, H, W) in [0, 1] ----
# |m| is the strength; the sign picks the direction of symmetric ops (rotate, shear, translate,
# enhance factors) and is ignored by the others. m = 0 leaves the image (nearly) unchanged, except
# for autocontrast and equalize, which have no magnitude. At |m| = 1 the ranges are FixMatch's: rotate
# 30 degrees, shear 0.3, translate 0.3 of the side, enhance factor 0.1..1.9, posterize to 4 bits,
# solarize threshold 0.
def _per_sample(m: Tensor, x: Tensor) -> Tensor:
    return m.to(x.dtype).view(-1, 1, 1, 1)


def _blend(degenerate: Tensor, x: Tensor, m: Tensor) -> Tensor:
    """PIL ``ImageEnhance``: ``degenerate + f * (x - degenerate)``, factor f = 1 + 0.9 m in [0.1, 1.9]."""
    f = 1.0 + 0.9 * _per_sample(m, x)
    return (degenerate + f * (x - degenerate)).clamp(0.0, 1.0)


def _gray(x: Tensor) -> Tensor:
    """(n, 1, H, W) luma (ITU-R 601) for RGB; the channel mean for other channel counts."""
    if x.shape[1] == 3:  # scalar weights: no host-to-device copy (and sync) per call
        return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return x.mean(1, keepdim=True)


def identity(x: Tensor, m: Tensor) -> Tensor:
    return x


def autocontrast(x: Tensor, m: Tensor) -> Tensor:
    """Stretch each channel of each image to span [0, 1] (constant channels are kept)."""
    lo, hi = x.amin((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)
    ok = hi > lo
    return torch.where(ok, (x - lo) / torch.where(ok, hi - lo, 1.0), x)


def brightness(x: Tensor, m: Tensor) -> Tensor:
    return _blend(torch.zeros_like(x), x, m)


def color(x: Tensor, m: Tensor) -> Tensor:
    """Saturation: blend with the gray image (a no-op for one channel)."""
    return _blend(_gray(x).expand_as(x), x, m)


def contrast(x: Tensor, m: Tensor) -> Tensor:
    return _blend(_gray(x).mean((2, 3), keepdim=True).expand_as(x), x, m)


def equalize(x: Tensor, m: Tensor) -> Tensor:
    """PIL's per-channel histogram equalisation, on values quantised to 256 levels (batched LUTs)."""
    n, c, h, w = x.shape
    flat = x.reshape(n * c, h * w)
    q = (flat * 255).round().clamp(0, 255).long()
    hist = torch.zeros(n * c, 256, dtype=torch.long, device=x.device).scatter_add_(1, q, torch.ones_like(q))
    last = (torch.arange(256, device=x.device) * (hist > 0)).amax(1, keepdim=True)  # last non-empty bin
    step = (h * w - hist.gather(1, last)) // 255
    lut = ((hist.cumsum(1) - hist + step // 2) // step.clamp(min=1)).clamp(max=255)
    out = lut.gather(1, q).to(x.dtype) / 255
    return torch.where(step == 0, flat, out).view(n, c, h, w)


def posterize(x: Tensor, m: Tensor) -> Tensor:
    """Keep 8 - round(4|m|) bits (8..4) of each 8-bit value; |m| < 1/8 leaves x unchanged."""
    shift = (4 * _per_sample(m, x).abs()).round()
    step = torch.pow(2.0, shift)
    out = torch.floor((x * 255).round() / step) * step / 255
    return torch.where(shift == 0, x, out)


def solarize(x: Tensor, m: Tensor) -> Tensor:
    """Invert pixels above the threshold 1 - |m|."""
    thr = 1.0 - _per_sample(m, x).abs()
    return torch.where(x > thr, 1.0 - x, x)


def sharpness(x: Tensor, m: Tensor) -> Tensor:
    """PIL's: blend with the image smoothed by [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 (borders kept);
    f > 1 sharpens, f < 1 blurs."""
    if x.shape[2] < 3 or x.shape[3] < 3:
        return x
    degenerate = x.clone()
    degenerate[:, :, 1:-1, 1:-1] = (9 * F.avg_pool2d(x, 3, stride=1) + 4 * x[:, :, 1:-1, 1:-1]) / 13
    return _blend(degenerate, x, m)


def _affine(x: Tensor, a00: Tensor, a01: Tensor, a10: Tensor, a11: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    """Sample x at ``A p + t`` for each output pixel p (pixel units, origin at the image centre).

    All arguments after x are (n,). Bilinear; pixels coming from outside the image are gray.
    """
    n, c, h, w = x.shape  # to grid coordinates: theta = S^-1 [A | t] S, S = diag(w/2, h/2)
    theta = torch.stack([a00, a01 * (h / w), tx * (2 / w), a10 * (w / h), a11, ty * (2 / h)], 1)
    grid = F.affine_grid(theta.view(n, 2, 3).to(x.dtype), [n, c, h, w], align_corners=False)
    out = F.grid_sample(x - GRAY, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (out + GRAY).clamp(0.0, 1.0)


def rotate(x: Tensor, m: Tensor) -> Tensor:
    """Rotate by 30 m degrees about the centre."""
    r = math.radians(30.0) * m.float()
    zero = torch.zeros_like(r)
    return _affine(x, r.cos(), -r.sin(), r.sin(), r.cos(), zero, zero)


def shear_x(x: Tensor, m: Tensor) -> Tensor:
    """Shear along x: x_in = x_out + 0.3 m y_out."""
    s = 0.3 * m.float()
    one, zero = torch.ones_like(s), torch.zeros_like(s)
    return _affine(x, one, s, zero, one, zero, zero)


def shear_y(x: Tensor, m: Tensor) -> Tensor:
    s = 0.3 * m.float()
    one, zero = torch.ones_like(s), torch.zeros_like(s)
    return _affine(x, one, zero, s, one, zero, zero)


def translate_x(x: Tensor, m: Tensor) -> Tensor:
    """Shift by 0.3 m of the width (gray fill)."""
    t = 0.3 * m.float() * x.shape[3]
    one, zero = torch.ones_like(t), torch.zeros_like(t)
    return _affine(x, one, zero, zero, one, t, zero)


def translate_y(x: Tensor, m: Tensor) -> Tensor:
    t = 0.3 * m.float() * x.shape[2]
    one, zero = torch.ones_like(t), torch.zeros_like(t)
    return _affine(x, one, zero, zero, one, zero, t)


IMAGE_OPS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    f.__name__: f
    for f in (
        identity, autocontrast, brightness, color, contrast, equalize, posterize,
        rotate, sharpness, shear_x, shear_y, solarize, translate_x, translate_y,
    )
}  # fmt: skip


# ---- batched building blocks ----------------------------------------------------------------
def _reflect(i: Tensor, n: int) -> Tensor:
    """Reflect indices in [-(n-1), 2(n-1)] into [0, n-1] (``F.pad(mode="reflect")``)."""
    i = i.abs()
    return torch.where(i > n - 1, 2 * (n - 1) - i, i)


def shift_flip(x: Tensor, translate: float, flip: bool) -> Tensor:
    """Per-sample integer shift by up to ``round(translate * side)`` pixels (reflect padding), then a
    horizontal flip with probability 0.5 if ``flip``; one gather for the batch. x: (N, C, H, W)."""
    n, c, h, w = x.shape
    ph, pw = min(round(translate * h), h - 1), min(round(translate * w), w - 1)
    if ph == 0 and pw == 0 and not flip:
        return x
    dev = x.device
    rows = _reflect(torch.arange(h, device=dev) + torch.randint(-ph, ph + 1, (n, 1), device=dev), h)
    cols = _reflect(torch.arange(w, device=dev) + torch.randint(-pw, pw + 1, (n, 1), device=dev), w)
    if flip:
        cols = torch.where(torch.rand(n, 1, device=dev) < 0.5, cols.flip(1), cols)
    idx = (rows[:, :, None] * w + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
    return x.reshape(n, c, h * w).gather(2, idx).view(n, c, h, w)


def rand_augment(x: Tensor, num_ops: int, magnitude: float | None) -> Tensor:
    """Apply ``num_ops`` ops drawn uniformly per sample from ``IMAGE_OPS``, each with strength
    ``magnitude`` (or uniform in [0, 1] per sample and op if None) and a random sign.

    Samples are grouped by op (one sort per round), so each op runs once on its subset.
    """
    fns = list(IMAGE_OPS.values())
    n, dev = x.shape[0], x.device
    for _ in range(num_ops):
        op = torch.randint(len(fns), (n,), device=dev)
        m = torch.rand(n, device=dev) if magnitude is None else torch.full((n,), float(magnitude), device=dev)
        m = torch.where(torch.rand(n, device=dev) < 0.5, -m, m)
        perm = torch.argsort(op)
        counts = torch.bincount(op, minlength=len(fns)).tolist()  # the one host sync of the round
        parts = zip(fns, x[perm].split(counts), m[perm].split(counts), strict=True)
        out = torch.empty_like(x)
        out[perm] = torch.cat([fn(xs, ms) if len(xs) else xs for fn, xs, ms in parts])
        x = out
    return x


def cutout(x: Tensor, size: float) -> Tensor:
    """Fill a ``round(size * H) x round(size * W)`` box (a square for square images) at a uniform
    random per-sample centre with gray; the box is clipped at the image border (as in FixMatch)."""
    n, _, h, w = x.shape
    sh, sw = round(size * h), round(size * w)
    if sh == 0 or sw == 0:
        return x
    dev = x.device
    y0 = torch.randint(0, h, (n, 1), device=dev) - sh // 2
    x0 = torch.randint(0, w, (n, 1), device=dev) - sw // 2
    r, c = torch.arange(h, device=dev), torch.arange(w, device=dev)
    in_r, in_c = (r >= y0) & (r < y0 + sh), (c >= x0) & (c < x0 + sw)
    return torch.where(in_r[:, None, :, None] & in_c[:, None, None, :], GRAY, x)


# ---- views -------------------------------------------------------------------------------------
def _check(cfg: AugmentConfig) -> None:
    bounds = {"translate": (0, 0.5), "cutout": (0, 1), "mask_prob": (0, 1), "swap_prob": (0, 1)}
    if cfg.strong_magnitude is not None:
        bounds["strong_magnitude"] = (0, 1)
    for name, (lo, hi) in bounds.items():
        v = getattr(cfg, name)
        if not lo <= v <= hi:
            raise ValueError(f"augment.{name} must be in [{lo}, {hi}], got {v}")
    if cfg.strong_ops < 0:
        raise ValueError(f"augment.strong_ops must be >= 0, got {cfg.strong_ops}")
    if cfg.noise_std < 0:
        raise ValueError(f"augment.noise_std must be >= 0, got {cfg.noise_std}")


class IdentityView:
    """The ``"none"`` view: returns its input unchanged."""

    def __call__(self, x: Tensor) -> Tensor:
        return x

    def __repr__(self) -> str:
        return "IdentityView()"


class ImageView:
    """Weak (shift + flip) or strong (weak + RandAugment + cutout) view of ``(N, C, H, W)`` images.

    Strong ops run in float32 for half-precision inputs; the result is cast back and clamped to [0, 1].

    Raises:
        ValueError: a config value out of range, or an input that is not a 4-D float tensor.
    """

    def __init__(self, cfg: AugmentConfig, strong: bool = False):
        _check(cfg)
        self.cfg, self.strong = cfg, strong

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or not x.is_floating_point():
            raise ValueError(
                f"image views need a float (N, C, H, W) tensor in [0, 1], got {x.dtype} {tuple(x.shape)}"
            )
        cfg = self.cfg
        out = shift_flip(x, cfg.translate, cfg.flip)
        if not self.strong:
            return out
        if out.dtype not in (torch.float32, torch.float64):
            out = out.float()
        out = rand_augment(out, cfg.strong_ops, cfg.strong_magnitude)
        if cfg.cutout > 0:
            out = cutout(out, cfg.cutout)
        return out.clamp(0.0, 1.0).to(x.dtype)

    def __repr__(self) -> str:
        return f"ImageView(strong={self.strong}, cfg={self.cfg})"


class VectorView:
    """Weak (Gaussian noise) or strong (weak + corruption) view of ``(N, D)`` feature vectors.

    weak: ``x + noise_std * feature_scale * randn``. strong: then each entry is corrupted with
    probability ``mask_prob``; a share ``swap_prob`` of those takes the same feature's value from another
    random row of the (clean) batch (swap noise, as in denoising autoencoders for tabular data), the
    rest the feature's batch mean (not 0, which is not neutral for unnormalised features).

    Args:
        feature_scale: (D,) per-feature standard deviations; None means ones. Moved to the input's
            device and dtype on first use and cached.
    """

    def __init__(self, cfg: AugmentConfig, feature_scale: Tensor | None = None, strong: bool = False):
        _check(cfg)
        if feature_scale is not None and torch.as_tensor(feature_scale).ndim != 1:
            raise ValueError(f"feature_scale must be a (D,) tensor, got shape {tuple(feature_scale.shape)}")
        self.cfg, self.strong = cfg, strong
        self.feature_scale = None if feature_scale is None else torch.as_tensor(feature_scale)
        self._scale: dict[tuple[torch.device, torch.dtype], Tensor] = {}

    def _scale_for(self, x: Tensor) -> Tensor | None:
        if self.feature_scale is None:
            return None
        key = (x.device, x.dtype)
        if key not in self._scale:
            if self.feature_scale.shape[0] != x.shape[1]:
                raise ValueError(
                    f"feature_scale has {self.feature_scale.shape[0]} features, input has {x.shape[1]}"
                )
            self._scale[key] = self.feature_scale.to(device=x.device, dtype=x.dtype)
        return self._scale[key]

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or not x.is_floating_point():
            raise ValueError(f"vector views need a float (N, D) tensor, got {x.dtype} {tuple(x.shape)}")
        cfg, (n, d) = self.cfg, x.shape
        out = x
        if cfg.noise_std > 0:
            scale = self._scale_for(x)
            noise = torch.randn_like(x) * cfg.noise_std
            out = x + (noise if scale is None else noise * scale)
        if not self.strong or cfg.mask_prob == 0:
            return out
        corrupt = torch.rand(n, d, device=x.device) < cfg.mask_prob
        swap = corrupt & (torch.rand(n, d, device=x.device) < cfg.swap_prob)
        other = torch.randint(1, max(n, 2), (n, d), device=x.device)  # offset 1..n-1: never the same row
        donor = x.gather(0, (torch.arange(n, device=x.device)[:, None] + other) % n)
        out = torch.where(swap, donor, out)
        return torch.where(corrupt & ~swap, x.mean(0, keepdim=True), out)

    def __repr__(self) -> str:
        return f"VectorView(strong={self.strong}, cfg={self.cfg})"


def make_views(kind: str, cfg: AugmentConfig, feature_scale: Tensor | None = None) -> dict[str, View]:
    """The ``"none"``, ``"weak"`` and ``"strong"`` views for ``kind`` (``"image"`` or ``"vector"``).

    ``feature_scale`` ((D,) per-feature std) is used by vector views only.

    Raises:
        ValueError: unknown ``kind`` or a config value out of range.
    """
    if kind == "image":
        return {"none": IdentityView(), "weak": ImageView(cfg), "strong": ImageView(cfg, strong=True)}
    if kind == "vector":
        return {
            "none": IdentityView(),
            "weak": VectorView(cfg, feature_scale),
            "strong": VectorView(cfg, feature_scale, strong=True),
        }
    raise ValueError(f"unknown data kind {kind!r}; valid kinds: {', '.join(KINDS)}")
