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
- medium (every kind): the strong view at reduced strength, ``medium_config`` (SequenceMatch's view
  between weak and strong).

Example:
    >>> views = make_views("image", AugmentConfig())
    >>> x = torch.rand(8, 3, 32, 32)
    >>> views["strong"](x).shape
    torch.Size([8, 3, 32, 32])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import Tensor

from semisup.config import AugmentConfig
from semisup.data.image_ops import (  # noqa: F401  (the ops are re-exported)
    GRAY,
    IMAGE_OPS,
    apply_ops,
    autocontrast,
    brightness,
    color,
    contrast,
    equalize,
    identity,
    posterize,
    rotate,
    sharpness,
    shear_x,
    shear_y,
    solarize,
    translate_x,
    translate_y,
)

View = Callable[[Tensor], Tensor]
KINDS = ("image", "signal", "table", "vector", "text")


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


def rand_augment(x: Tensor, num_ops: int, magnitude: float | None, branch_free: bool | None = None) -> Tensor:
    """Apply ``num_ops`` ops drawn uniformly per sample from ``IMAGE_OPS``, each with strength
    ``magnitude`` (or uniform in [0, 1] per sample and op if None) and a random sign.

    All draws are made up front with static shapes on x's device; each round is one ``apply_ops`` call
    (``branch_free``: see there; None picks by device).
    """
    if num_ops == 0:
        return x
    ops, n, dev = IMAGE_OPS, x.shape[0], x.device
    op_ids = torch.randint(len(ops), (num_ops, n), device=dev)
    m = (
        torch.rand(num_ops, n, device=dev)
        if magnitude is None
        else torch.full((num_ops, n), float(magnitude), device=dev)
    )
    mags = torch.where(torch.rand(num_ops, n, device=dev) < 0.5, -m, m)
    for r in range(num_ops):
        x = apply_ops(x, op_ids[r], mags[r], ops, branch_free)
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
    A call never waits for the device when ``branch_free`` (None: off the CPU, see ``apply_ops``): no
    host sync, static shapes, so it can be captured in a CUDA graph or ``torch.compile(fullgraph=True)``.

    Raises:
        ValueError: a config value out of range, or an input that is not a 4-D float tensor.
    """

    def __init__(self, cfg: AugmentConfig, strong: bool = False, branch_free: bool | None = None):
        _check(cfg)
        self.cfg, self.strong, self.branch_free = cfg, strong, branch_free

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
        out = rand_augment(out, cfg.strong_ops, cfg.strong_magnitude, self.branch_free)
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


def medium_config(cfg: AugmentConfig) -> AugmentConfig:
    """The medium view's strength: ``cfg`` with at most one RandAugment op (images, signals) and half
    the corruption probability ``mask_prob`` (vectors, text, tables); the rest as the strong view.

    SequenceMatch (Nguyen 2024, https://arxiv.org/abs/2310.15787) puts a medium view between the weak and
    the strong one; its authors' code draws RandAugment(1 op) for it against RandAugment(3 ops) for the
    strong view, both followed by cutout.
    """
    return replace(cfg, strong_ops=min(cfg.strong_ops, 1), mask_prob=cfg.mask_prob / 2)


def make_views(
    kind: str,
    cfg: AugmentConfig,
    feature_scale: Tensor | None = None,
    train_X: Tensor | None = None,
    categorical: Sequence[int] = (),
) -> dict[str, View]:
    """The ``"none"``, ``"weak"``, ``"medium"`` and ``"strong"`` views for ``kind`` (one of ``KINDS``);
    ``"medium"`` is the strong view with ``medium_config(cfg)``.

    ``feature_scale`` ((D,) per-feature std) is used by the vector and text kinds. Tables need
    ``train_X`` ((N, D) training rows, NaN = missing: SCARF draws from its columns' marginals) and the
    indices of their ``categorical`` columns; see ``semisup.data.table_views``.

    Raises:
        ValueError: unknown ``kind``, a config value out of range, or a table without ``train_X``.
    """
    mid = medium_config(cfg)
    if kind == "image":
        return {
            "none": IdentityView(),
            "weak": ImageView(cfg),
            "medium": ImageView(mid, strong=True),
            "strong": ImageView(cfg, strong=True),
        }
    if kind == "signal":  # (N, C, L): edge shift + amplitude, 1-D RandAugment (semisup.data.signal_views)
        from semisup.data.signal_views import SignalView

        return {
            "none": IdentityView(),
            "weak": SignalView(cfg),
            "medium": SignalView(mid, strong=True),
            "strong": SignalView(cfg, strong=True),
        }
    if kind == "table":  # (N, D), NaN = missing: noise on numeric columns, SCARF (semisup.data.table_views)
        from semisup.data.table_views import TableView

        if train_X is None:
            raise ValueError("table views need the training rows: make_views('table', cfg, train_X=X)")
        _check(cfg)
        return {
            "none": IdentityView(),
            "weak": TableView(cfg, train_X, categorical),
            "medium": TableView(mid, train_X, categorical, strong=True),
            "strong": TableView(cfg, train_X, categorical, strong=True),
        }
    if kind in ("vector", "text"):
        return {
            "none": IdentityView(),
            "weak": VectorView(cfg, feature_scale),
            "medium": VectorView(mid, feature_scale, strong=True),
            "strong": VectorView(cfg, feature_scale, strong=True),
        }
    raise ValueError(f"unknown data kind {kind!r}; valid kinds: {', '.join(KINDS)}")
