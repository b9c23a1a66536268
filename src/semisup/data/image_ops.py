"""RandAugment image ops and their batched, per-sample dispatch (``apply_ops``).

Every op is ``fn(x (n, C, H, W) in [0, 1], m (n,) in [-1, 1]) -> (n, C, H, W) in [0, 1]``. |m| is the
strength; the sign picks the direction of symmetric ops (rotate, shear, translate, enhance factors) and
is ignored by the others. m = 0 leaves the image (nearly) unchanged, except for autocontrast and
equalize, which have no magnitude. At |m| = 1 the ranges are FixMatch's: rotate 30 degrees, shear 0.3,
translate 0.3 of the side, enhance factor 0.1..1.9, posterize to 4 bits, solarize threshold 0.

``apply_ops`` gives each sample its own op and magnitude in one of two ways, with equal results:

- subset (``branch_free=False``, the CPU default): samples are sorted by op and each op runs once on
  its subset. Least arithmetic, but the subset sizes are read on the host (one sync per call).
- branch-free (``branch_free=True``, the default off the CPU): static shapes and no host sync (CUDA-graph
  capturable, ``torch.compile(fullgraph=True)``-friendly). The geometric ops are one per-sample affine
  matrix and one ``grid_sample`` for the batch; the enhance ops (brightness, color, contrast,
  sharpness) one blend with a per-sample degenerate image; every other op runs on the whole batch; each
  sample then takes its own op's output with ``torch.where``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.data.op_dispatch import apply_grouped

Op = Callable[[Tensor, Tensor], Tensor]
GRAY = 0.5  # fill of pixels that geometric ops move in from outside (FixMatch: 128)
_ROTATE, _SHEAR, _TRANSLATE = math.radians(30.0), 0.3, 0.3  # at |m| = 1


def _per_sample(m: Tensor, x: Tensor) -> Tensor:
    return m.to(x.dtype).view(-1, 1, 1, 1)


# ---- photometric ops ----------------------------------------------------------------------------
def _blend(degenerate: Tensor, x: Tensor, m: Tensor) -> Tensor:
    """PIL ``ImageEnhance``: ``degenerate + f * (x - degenerate)``, factor f = 1 + 0.9 m in [0.1, 1.9]."""
    f = 1.0 + 0.9 * _per_sample(m, x)
    return (degenerate + f * (x - degenerate)).clamp(0.0, 1.0)


def _gray(x: Tensor) -> Tensor:
    """(n, 1, H, W) luma (ITU-R 601) for RGB; the channel mean for other channel counts."""
    if x.shape[1] == 3:  # scalar weights: no host-to-device copy per call
        return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    return x.mean(1, keepdim=True)


def _black(x: Tensor) -> Tensor:
    return torch.zeros_like(x[:1, :1, :1, :1])


def _mean_gray(x: Tensor) -> Tensor:
    return _gray(x).mean((2, 3), keepdim=True)


def _smooth(x: Tensor) -> Tensor:
    """PIL's SMOOTH filter [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 inside, the border kept."""
    if x.shape[2] < 3 or x.shape[3] < 3:
        return x
    rows = x[:, :, :-2] + x[:, :, 1:-1] + x[:, :, 2:]  # 3x3 box sums as shifted slices (fast on CPU)
    box = rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]
    out = x.clone()
    out[:, :, 1:-1, 1:-1] = (box + 4 * x[:, :, 1:-1, 1:-1]) / 13
    return out


def identity(x: Tensor, m: Tensor) -> Tensor:
    return x


def autocontrast(x: Tensor, m: Tensor) -> Tensor:
    """Stretch each channel of each image to span [0, 1] (constant channels are kept)."""
    lo, hi = x.amin((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)
    ok = hi > lo
    return torch.where(ok, (x - lo) / torch.where(ok, hi - lo, 1.0), x)


def brightness(x: Tensor, m: Tensor) -> Tensor:
    return _blend(_black(x), x, m)


def color(x: Tensor, m: Tensor) -> Tensor:
    """Saturation: blend with the gray image (a no-op for one channel)."""
    return _blend(_gray(x), x, m)


def contrast(x: Tensor, m: Tensor) -> Tensor:
    return _blend(_mean_gray(x), x, m)


def sharpness(x: Tensor, m: Tensor) -> Tensor:
    """PIL's: blend with the smoothed image (borders kept); f > 1 sharpens, f < 1 blurs."""
    return _blend(_smooth(x), x, m)


def equalize(x: Tensor, m: Tensor) -> Tensor:
    """PIL's per-channel histogram equalisation, on values quantised to 256 levels (batched LUTs on a
    fixed 256-bin grid: static shapes, no host sync)."""
    n, c, h, w = x.shape
    flat = x.reshape(n * c, h * w)
    q = (flat * 255).round().clamp(0, 255).long()
    hist = torch.zeros(n * c, 256, dtype=torch.long, device=x.device).scatter_add_(1, q, torch.ones_like(q))
    last = (torch.arange(256, device=x.device) * (hist > 0)).amax(1, keepdim=True)  # last non-empty bin
    step = (h * w - hist.gather(1, last)) // 255
    lut = ((hist.cumsum(1) - hist + step // 2) // step.clamp(min=1)).clamp(max=255)
    out = lut.to(x.dtype).gather(1, q) / 255
    return torch.where(step == 0, flat, out).view(n, c, h, w)


def posterize(x: Tensor, m: Tensor) -> Tensor:
    """Keep 8 - round(4|m|) bits (8..4) of each 8-bit value; |m| < 1/8 leaves x unchanged."""
    shift = (4 * _per_sample(m, x).abs()).round()
    step = torch.exp2(shift)
    out = torch.floor((x * 255).round() / step) * (step / 255)
    return torch.where(shift == 0, x, out)


def solarize(x: Tensor, m: Tensor) -> Tensor:
    """Invert pixels above the threshold 1 - |m|."""
    thr = 1.0 - _per_sample(m, x).abs()
    return torch.where(x > thr, 1.0 - x, x)


# ---- geometric ops: one affine map each -------------------------------------------------------
def _theta(r: Tensor, sx: Tensor, sy: Tensor, tx: Tensor, ty: Tensor, h: int, w: int) -> Tensor:
    """(n, 2, 3) ``affine_grid`` matrices of ``p_in = R(r) p_out + [[0, sx], [sy, 0]] p_out + t`` (pixel
    units, origin at the image centre; t in pixels). With one nonzero parameter per sample this is exactly
    that op's map; theta = S^-1 [A | t] S, S = diag(w/2, h/2)."""
    cos, sin = r.cos(), r.sin()
    rows = [cos, (sx - sin) * (h / w), tx * (2 / w), (sin + sy) * (w / h), cos, ty * (2 / h)]
    return torch.stack(rows, 1).view(-1, 2, 3)


def _warp(x: Tensor, theta: Tensor) -> Tensor:
    """Bilinear resampling through ``theta``; pixels coming from outside the image are gray."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x - GRAY, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (out + GRAY).clamp(0.0, 1.0)


def _geometric(x: Tensor, slot: int, value: Tensor) -> Tensor:
    params = [torch.zeros_like(value)] * 5
    params[slot] = value
    return _warp(x, _theta(*params, x.shape[2], x.shape[3]))


def rotate(x: Tensor, m: Tensor) -> Tensor:
    """Rotate by 30 m degrees about the centre."""
    return _geometric(x, 0, _ROTATE * m.float())


def shear_x(x: Tensor, m: Tensor) -> Tensor:
    """Shear along x: x_in = x_out + 0.3 m y_out."""
    return _geometric(x, 1, _SHEAR * m.float())


def shear_y(x: Tensor, m: Tensor) -> Tensor:
    return _geometric(x, 2, _SHEAR * m.float())


def translate_x(x: Tensor, m: Tensor) -> Tensor:
    """Shift by 0.3 m of the width (gray fill)."""
    return _geometric(x, 3, _TRANSLATE * m.float() * x.shape[3])


def translate_y(x: Tensor, m: Tensor) -> Tensor:
    return _geometric(x, 4, _TRANSLATE * m.float() * x.shape[2])


IMAGE_OPS: dict[str, Op] = {
    f.__name__: f
    for f in (
        identity, autocontrast, brightness, color, contrast, equalize, posterize,
        rotate, sharpness, shear_x, shear_y, solarize, translate_x, translate_y,
    )
}  # fmt: skip

# How the branch-free path computes an op (ops not listed run on the whole batch):
# geometric op -> (slot in ``_theta``'s parameters, value per unit m, scaled by the side index or None)
_AFFINE: dict[Op, tuple[int, float, int | None]] = {
    rotate: (0, _ROTATE, None),
    shear_x: (1, _SHEAR, None),
    shear_y: (2, _SHEAR, None),
    translate_x: (3, _TRANSLATE, 3),
    translate_y: (4, _TRANSLATE, 2),
}
_DEGENERATE: dict[Op, Callable[[Tensor], Tensor]] = {  # enhance op -> image it blends with
    brightness: _black,
    color: _gray,
    contrast: _mean_gray,
    sharpness: _smooth,
}


# ---- per-sample dispatch ----------------------------------------------------------------------
def apply_ops(
    x: Tensor, op_ids: Tensor, mags: Tensor, ops: dict[str, Op] | None = None, branch_free: bool | None = None
) -> Tensor:
    """Apply ``ops[k]`` with magnitude ``mags[i]`` to sample i, k = ``op_ids[i]`` (k indexes ``ops``'
    values, by default ``IMAGE_OPS``). op_ids: (N,) integers, mags: (N,) in [-1, 1].

    ``branch_free`` None picks the subset path on the CPU and the branch-free one elsewhere; both give
    the same result (see the module docstring).
    """
    fns = list((IMAGE_OPS if ops is None else ops).values())
    if branch_free is None:
        branch_free = x.device.type != "cpu"
    if branch_free:
        return _apply_branch_free(x, op_ids, mags, fns)
    return apply_grouped(x, op_ids, mags, fns)


def _apply_branch_free(x: Tensor, op_ids: Tensor, mags: Tensor, fns: list[Op]) -> Tensor:
    dims = (x.shape[0], 1, 1, 1)
    hot = op_ids[:, None] == torch.arange(len(fns), device=x.device)  # (N, K): one compare per round
    out = x
    # geometric ops: one affine map per sample (identity for the others), one grid_sample
    geo = [(k, _AFFINE[fn]) for k, fn in enumerate(fns) if fn in _AFFINE]
    if geo:
        mf = mags.float()
        params = [torch.zeros_like(mf)] * 5
        is_geo = None
        for k, (slot, scale, side) in geo:
            value = scale * mf if side is None else scale * mf * x.shape[side]
            params[slot] = torch.where(hot[:, k], value, params[slot])
            is_geo = hot[:, k] if is_geo is None else is_geo | hot[:, k]
        warped = _warp(x, _theta(*params, x.shape[2], x.shape[3]))
        out = torch.where(is_geo.view(dims), warped, out)
    # enhance ops: one blend with each sample's degenerate image
    enhance = [(k, _DEGENERATE[fn]) for k, fn in enumerate(fns) if fn in _DEGENERATE]
    if enhance:
        degenerate = is_enhance = None
        for k, make in enhance:
            d, pick = make(x), hot[:, k].view(dims)
            degenerate = d if degenerate is None else torch.where(pick, d, degenerate)
            is_enhance = pick if is_enhance is None else is_enhance | pick
        out = torch.where(is_enhance, _blend(degenerate, x, mags), out)
    # the rest: each on the whole batch
    for k, fn in enumerate(fns):
        if fn is not identity and fn not in _AFFINE and fn not in _DEGENERATE:
            out = torch.where(hot[:, k].view(dims), fn(x, mags), out)
    return out
