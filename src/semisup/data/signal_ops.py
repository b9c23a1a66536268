"""1-D RandAugment ops for signals and their batched, per-sample dispatch (``apply_signal_ops``).

Every op is ``fn(x (n, C, L) float, m (n,) in [0, 1]) -> (n, C, L)`` with the input's dtype and device.
m is the strength; m = 0 returns x unchanged (exactly) for every op. The random parts (noise, knots, cut
points, directions) are drawn per sample from torch's global RNG on x's device, always through
``_uniform`` and ``_normal`` (one seam, so a test can feed CPU and CUDA the same numbers). Static shapes,
no per-sample Python loop, no host sync.

The set is the one of Um et al. 2017, "Data Augmentation of Wearable Sensor Data for Parkinson's
Disease Monitoring using Convolutional Neural Networks", https://arxiv.org/abs/1706.00527 (jitter,
scaling, magnitude warp, time warp, permutation, cropping) and Iwana & Uchida 2021, "An Empirical Survey
of Data Augmentation for Time Series Classification with Neural Networks",
https://arxiv.org/abs/2007.15951 (window slicing; window warping is a special case of time warp),
plus masking (cutout) and smoothing (a moving average). At m = 1 (the ``_MAX`` table): jitter 0.2 of
each sample-channel's std, scaling x[0.5, 1.5], magnitude and time warp with 4 knots of log-strength 0.4,
window slicing keeps 60 % of the length, permutation into up to 5 segments, masking of 30 % of the
length, a moving average over 2 * 4 % of the length.

``apply_signal_ops`` gives each sample its own op and magnitude in one of two ways:

- subset (``branch_free=False``, the CPU default): samples are sorted by op and each op runs once on
  its subset (one host sync per call for the subset sizes).
- branch-free (``branch_free=True``, the default off the CPU): every op runs on the whole batch and each
  sample takes its own op's output with ``torch.where`` (static shapes, no host sync).

Both draw from the same distributions, but consume the RNG differently, so their outputs differ.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.data.op_dispatch import apply_grouped

Op = Callable[[Tensor, Tensor], Tensor]
_MAX = {  # strength of each op at m = 1
    "jitter": 0.2,  # noise std, in units of each sample-channel's std
    "scaling": 0.5,  # factor in 1 +- 0.5
    "magnitude_warp": 0.4,  # log of the multiplier curve, std at the knots
    "time_warp": 0.4,  # log of the local speed, std at the knots
    "window_slice": 0.4,  # share of the length cropped away
    "permutation": 5,  # segments
    "masking": 0.3,  # share of the length masked
    "smoothing": 0.04,  # half-width of the moving average, share of the length
}
_KNOTS = 4  # interior knots of the warp curves (Um et al.)


# ---- randomness and shared pieces ---------------------------------------------------------------
def _uniform(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """U[0, 1) float32 on ``like``'s device (every op draws through here or ``_normal``)."""
    return torch.rand(shape, device=like.device)


def _normal(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """N(0, 1) float32 on ``like``'s device."""
    return torch.randn(shape, device=like.device)


def _col(m: Tensor, x: Tensor) -> Tensor:
    """(n,) -> (n, 1, 1) in x's dtype."""
    return m.to(x.dtype).view(-1, 1, 1)


def _keep_zero(x: Tensor, m: Tensor, out: Tensor) -> Tensor:
    """x itself for samples with m == 0 (exact identity), else ``out``."""
    return torch.where(_col(m, x) == 0, x, out.to(x.dtype))


def _smooth_curve(rows: int, length: int, like: Tensor) -> Tensor:
    """(rows, length) smooth random curves: N(0, 1) values at ``_KNOTS + 2`` evenly spaced knots (ends
    included), interpolated bicubically (a cubic-spline-like curve, as Um et al.)."""
    knots = _normal((rows, 1, 1, _KNOTS + 2), like)
    curve = F.interpolate(knots, size=(1, length), mode="bicubic", align_corners=True)
    return curve.view(rows, length)


def _resample(x: Tensor, pos: Tensor) -> Tensor:
    """Linear interpolation of x (n, C, L) at fractional positions pos (n, L') in [0, L - 1], the same
    for every channel; integer positions return x's values exactly."""
    n, c, length = x.shape
    pos = pos.clamp(0, length - 1)
    i0 = pos.floor().long().clamp(max=max(length - 2, 0))
    w = (pos - i0).to(x.dtype)[:, None, :].expand(n, c, -1)
    i0 = i0[:, None, :].expand(n, c, -1)
    i1 = (i0 + 1).clamp(max=length - 1)
    return torch.lerp(x.gather(2, i0), x.gather(2, i1), w)  # lerp: weight 0 / 1 give the ends exactly


# ---- magnitude ops ----------------------------------------------------------------------------
def identity(x: Tensor, m: Tensor) -> Tensor:
    return x


def jitter(x: Tensor, m: Tensor) -> Tensor:
    """Add Gaussian noise of std ``0.2 m`` times each sample-channel's own std (scale-free)."""
    std = x.float().std(2, keepdim=True, unbiased=False).to(x.dtype)
    noise = _normal(tuple(x.shape), x).to(x.dtype)
    return _keep_zero(x, m, x + _MAX["jitter"] * _col(m, x) * std * noise)


def scaling(x: Tensor, m: Tensor) -> Tensor:
    """Multiply each sample-channel by ``1 + 0.5 m u``, u ~ U(-1, 1) (about zero, as Um et al.)."""
    u = 2 * _uniform((x.shape[0], x.shape[1], 1), x).to(x.dtype) - 1
    return _keep_zero(x, m, x * (1 + _MAX["scaling"] * _col(m, x) * u))


def magnitude_warp(x: Tensor, m: Tensor) -> Tensor:
    """Multiply each sample-channel by a smooth random curve ``exp(0.4 m g(t))``, g a knot curve."""
    n, c, length = x.shape
    curve = _smooth_curve(n * c, length, x).view(n, c, length).to(x.dtype)
    return _keep_zero(x, m, x * torch.exp(_MAX["magnitude_warp"] * _col(m, x) * curve))


# ---- time ops (one warp per sample, shared by its channels) -------------------------------------
def time_warp(x: Tensor, m: Tensor) -> Tensor:
    """Resample along a smooth monotone warp of the time axis: local speed ``exp(0.4 m g(t))``,
    integrated and rescaled so that both endpoints stay fixed (t = 0 -> 0, t = L - 1 -> L - 1)."""
    n, _, length = x.shape
    if length < 2:
        return x
    speed = torch.exp(_MAX["time_warp"] * m.float().view(-1, 1) * _smooth_curve(n, length - 1, x))
    steps = torch.cat([torch.zeros(n, 1, device=x.device), speed.cumsum(1)], 1)  # (n, L), from 0
    pos = steps * ((length - 1) / steps[:, -1:])
    return _keep_zero(x, m, _resample(x, pos))


def window_slice(x: Tensor, m: Tensor) -> Tensor:
    """Crop a window of ``(1 - 0.4 m)`` of the length at a random start and stretch it back to L."""
    n, _, length = x.shape
    keep = 1 - _MAX["window_slice"] * m.float().view(-1, 1)
    start = _uniform((n, 1), x) * (1 - keep) * (length - 1)
    pos = start + torch.arange(length, device=x.device) * keep
    return _keep_zero(x, m, _resample(x, pos))


def permutation(x: Tensor, m: Tensor) -> Tensor:
    """Cut at ``round(4 m)`` random points into at most 5 segments and put them in a random order (the
    values of every sample-channel are only moved). Static shapes: unused cuts sit at L (empty
    segments)."""
    n, c, length = x.shape
    k = _MAX["permutation"]
    if length < 2:
        return x
    dev = x.device
    used = (m.float() * (k - 1)).round().long().view(-1, 1)  # cuts per sample, 0..k-1
    cuts = 1 + (_uniform((n, k - 1), x) * (length - 1)).long().clamp(max=length - 2)  # in 1..L-1
    cuts = torch.where(torch.arange(k - 1, device=dev) < used, cuts, length).sort(1).values
    starts = torch.cat([torch.zeros(n, 1, dtype=torch.long, device=dev), cuts], 1)  # (n, k)
    lengths = torch.cat([cuts, torch.full((n, 1), length, device=dev)], 1) - starts
    order = _uniform((n, k), x).argsort(1)  # a random order of the segments
    seg_len, seg_start = lengths.gather(1, order), starts.gather(1, order)
    out_end = seg_len.cumsum(1).contiguous()  # where each reordered segment ends in the output
    t = torch.arange(length, device=dev).expand(n, length).contiguous()
    j = torch.searchsorted(out_end, t, right=True)  # output segment of each t (empty ones skipped)
    src = seg_start.gather(1, j) + t - (out_end - seg_len).gather(1, j)
    return x.gather(2, src[:, None, :].expand(n, c, length))


def masking(x: Tensor, m: Tensor) -> Tensor:
    """Replace a random segment of ``round(0.3 m L)`` steps (all channels) by each sample-channel's mean
    (neutral for signals that are not centred on 0)."""
    n, _, length = x.shape
    size = (_MAX["masking"] * length * m.float()).round().view(-1, 1)
    start = (_uniform((n, 1), x) * (length - size + 1)).floor()
    t = torch.arange(length, device=x.device)
    inside = ((t >= start) & (t < start + size))[:, None, :]
    return torch.where(inside, x.mean(2, keepdim=True), x)


def smoothing(x: Tensor, m: Tensor) -> Tensor:
    """Centred moving average of half-width ``round(0.04 m L)`` (at least 1 step for m > 0), edges
    padded by repetition: a constant stays constant. One cumulative sum for the batch, of the series
    less its mean (float32 stays accurate; no float64, which some devices lack)."""
    n, c, length = x.shape
    top = max(1, round(_MAX["smoothing"] * length))
    h = (m.float() * top).round().long()
    h = torch.where(m > 0, h.clamp(min=1), 0).view(-1, 1, 1)
    xf = x.float()
    mean = xf.mean(2, keepdim=True)
    # one extra step in front so that the window sum cs[t + h] - cs[t - h - 1] never indexes below 0
    cs = F.pad(xf - mean, (top + 1, top), mode="replicate").cumsum(2)  # cs[i] = sum of padded[: i + 1]
    t = torch.arange(length, device=x.device).view(1, 1, -1) + top + 1  # x[t] sits at padded[t + top + 1]
    hi = cs.gather(2, (t + h).expand(n, c, length))
    lo = cs.gather(2, (t - h - 1).expand(n, c, length))
    return _keep_zero(x, m, mean + (hi - lo) / (2 * h + 1))


SIGNAL_OPS: dict[str, Op] = {
    f.__name__: f
    for f in (
        identity,
        jitter,
        scaling,
        magnitude_warp,
        time_warp,
        window_slice,
        permutation,
        masking,
        smoothing,
    )
}


# ---- per-sample dispatch ----------------------------------------------------------------------
def apply_signal_ops(
    x: Tensor, op_ids: Tensor, mags: Tensor, ops: dict[str, Op] | None = None, branch_free: bool | None = None
) -> Tensor:
    """Apply ``ops[k]`` with magnitude ``mags[i]`` to sample i, k = ``op_ids[i]`` (k indexes ``ops``'
    values, by default ``SIGNAL_OPS``). x: (N, C, L); op_ids: (N,) integers; mags: (N,) in [0, 1].

    ``branch_free`` None picks the subset path on the CPU and the branch-free one elsewhere (see the
    module docstring).
    """
    fns = list((SIGNAL_OPS if ops is None else ops).values())
    if branch_free is None:
        branch_free = x.device.type != "cpu"
    if branch_free:
        out = x
        for k, fn in enumerate(fns):
            if fn is not identity:
                out = torch.where((op_ids == k).view(-1, 1, 1), fn(x, mags), out)
        return out
    return apply_grouped(x, op_ids, mags, fns)


def signal_rand_augment(
    x: Tensor, num_ops: int, magnitude: float | None, branch_free: bool | None = None
) -> Tensor:
    """``num_ops`` rounds; each sample draws its op uniformly from ``SIGNAL_OPS`` per round, with strength
    ``magnitude`` (or U[0, 1] per sample and round if None, as FixMatch's RandAugment).
    x: (N, C, L) float."""
    if num_ops == 0:
        return x
    n, k = x.shape[0], len(SIGNAL_OPS)
    op_ids = (_uniform((num_ops, n), x) * k).long().clamp(max=k - 1)
    if magnitude is None:
        mags = _uniform((num_ops, n), x)
    else:
        mags = torch.full((num_ops, n), float(magnitude), device=x.device)
    for r in range(num_ops):
        x = apply_signal_ops(x, op_ids[r], mags[r], SIGNAL_OPS, branch_free)
    return x


__all__ = [
    "SIGNAL_OPS",
    "apply_signal_ops",
    "identity",
    "jitter",
    "magnitude_warp",
    "masking",
    "permutation",
    "scaling",
    "signal_rand_augment",
    "smoothing",
    "time_warp",
    "window_slice",
]
