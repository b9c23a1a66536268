"""1-D RandAugment ops: shapes, the numbers each op must produce, dispatch, determinism, CPU/CUDA."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import semisup.data.signal_ops as S
from semisup.data.signal_ops import SIGNAL_OPS, apply_signal_ops, signal_rand_augment

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
OPS = list(SIGNAL_OPS)


def full(n: int, m: float, device: str = "cpu") -> torch.Tensor:
    return torch.full((n,), m, device=device)


def ramp(n: int, c: int = 1, length: int = 50) -> torch.Tensor:
    """n copies of 0, 1, ..., L-1 on every channel (strictly increasing, all values distinct)."""
    return torch.arange(length, dtype=torch.float32).repeat(n, c, 1)


# ---- every op ----------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", OPS)
def test_shape_dtype_device_kept_and_finite(name, dtype, device):
    torch.manual_seed(0)
    x = torch.randn(7, 3, 33, dtype=dtype, device=device)
    y = SIGNAL_OPS[name](x, torch.rand(7, device=device))
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", OPS)
def test_magnitude_zero_is_exact_identity(name):
    torch.manual_seed(0)
    x = torch.randn(16, 2, 40)
    assert torch.equal(SIGNAL_OPS[name](x, full(16, 0.0)), x)


@pytest.mark.parametrize(
    "name", ["scaling", "time_warp", "window_slice", "permutation", "masking", "smoothing"]
)
def test_constant_signal_stays_constant(name):
    torch.manual_seed(0)
    x = torch.full((32, 2, 30), 3.0) * torch.tensor([1.0, -2.0]).view(1, 2, 1)
    y = SIGNAL_OPS[name](x, torch.rand(32))
    # constant along time in every sample-channel; only scaling may change the level
    torch.testing.assert_close(y, y[..., :1].expand_as(y), rtol=0, atol=1e-5)
    if name != "scaling":
        torch.testing.assert_close(y, x, rtol=0, atol=1e-5)


@pytest.mark.parametrize("length", [1, 2, 3])
@pytest.mark.parametrize("name", OPS)
def test_very_short_signals(name, length):
    x = torch.randn(4, 2, length)
    assert SIGNAL_OPS[name](x, full(4, 1.0)).shape == x.shape


# ---- the numbers of each op -------------------------------------------------------------------
def test_jitter_std_matches_magnitude():
    torch.manual_seed(0)
    x = torch.randn(64, 2, 512) * torch.tensor([1.0, 5.0]).view(1, 2, 1)
    for m in (0.25, 1.0):
        noise = S.jitter(x, full(64, m)) - x
        rel = noise / x.std(2, unbiased=False, keepdim=True)  # in units of each sample-channel's std
        assert abs(rel.std().item() - S._MAX["jitter"] * m) < 0.02 * S._MAX["jitter"] * m
        assert abs(rel.mean().item()) < 0.01


def test_scaling_is_one_factor_per_sample_channel_in_range():
    torch.manual_seed(0)
    x = torch.rand(500, 2, 10) + 1.0
    m = torch.rand(500)
    f = S.scaling(x, m) / x
    torch.testing.assert_close(f, f[..., :1].expand_as(f))  # one factor along time
    dev = (f[..., 0] - 1).abs() / (S._MAX["scaling"] * m[:, None])
    assert dev.max() <= 1 + 1e-5 and dev.mean() > 0.4  # uniform in 1 +- 0.5 m: |u| has mean 0.5
    assert (f[:, 0, 0] != f[:, 1, 0]).all()  # channels drawn independently


def test_magnitude_warp_is_a_smooth_positive_curve_with_knot_std():
    torch.manual_seed(0)
    x = torch.ones(400, 1, 51)  # knots land on t = 0, 10, ..., 50 (align_corners)
    log_curve = S.magnitude_warp(x, full(400, 1.0)).log() / S._MAX["magnitude_warp"]
    knots = log_curve[..., ::10]  # N(0, 1) at every knot
    assert abs(knots.std().item() - 1) < 0.05 and abs(knots.mean().item()) < 0.05
    second = log_curve.diff(n=2, dim=2).abs().max()  # smooth: tiny curvature per step
    assert second < 0.2 * log_curve.abs().max()


def test_time_warp_is_monotone_and_keeps_the_endpoints():
    torch.manual_seed(0)
    x = ramp(64, c=2, length=80)
    y = S.time_warp(x, torch.rand(64) * 0.5 + 0.5)
    assert torch.equal(y[..., 0], x[..., 0])
    torch.testing.assert_close(y[..., -1], x[..., -1])
    assert (y.diff(dim=2) > 0).all()  # a monotone warp of a ramp is strictly increasing
    assert torch.equal(y[:, 0], y[:, 1])  # one warp per sample, shared by its channels
    assert (y - x).abs().amax(2).min() > 0.5  # every sample is really warped


def test_window_slice_is_a_stretched_window_of_the_right_length():
    torch.manual_seed(0)
    m = torch.rand(64)
    x = ramp(64, length=101)
    y = S.window_slice(x, m)
    keep = 1 - S._MAX["window_slice"] * m  # window = keep * (L - 1) steps, stretched over L - 1
    torch.testing.assert_close(y.diff(dim=2), keep.view(-1, 1, 1).expand(64, 1, 100), rtol=0, atol=1e-4)
    assert (y[..., 0] >= 0).all() and (y[..., -1] <= 100 + 1e-4).all()
    assert y[..., 0].std() > 1  # the start is random


def test_permutation_keeps_values_and_cuts_few_segments():
    torch.manual_seed(0)
    x = torch.randn(200, 3, 60)
    for m, max_cuts in ((0.5, 2), (1.0, 4)):
        y = S.permutation(x, full(200, m))
        assert torch.equal(y.sort(2).values, x.sort(2).values)  # the multiset of every sample-channel
        r = ramp(200, length=60)
        cuts = (S.permutation(r, full(200, m)).diff(dim=2) != 1).sum((1, 2))  # jumps between segments
        assert cuts.max() <= max_cuts and cuts.float().mean() > 0.6 * max_cuts


def test_masking_replaces_one_segment_by_the_mean():
    torch.manual_seed(0)
    x = ramp(50, c=2, length=40)  # mean 19.5 is not a value of the ramp
    m = torch.rand(50)
    y = S.masking(x, m)
    masked = y == 19.5
    size = (S._MAX["masking"] * 40 * m).round()
    assert torch.equal(masked.sum(2)[:, 0].float(), size) and torch.equal(masked[:, 0], masked[:, 1])
    for row, s in zip(masked[:, 0], size, strict=True):  # one contiguous run
        idx = row.nonzero().flatten()
        assert len(idx) == 0 or idx[-1] - idx[0] + 1 == s
    assert torch.equal(y[~masked], x[~masked])


def test_smoothing_is_a_moving_average_with_edge_padding():
    torch.manual_seed(0)
    x = torch.randn(12, 2, 75)
    m = torch.linspace(0.05, 1, 12)
    y = S.smoothing(x, m)
    top = round(S._MAX["smoothing"] * 75)
    for i in range(12):  # naive reference: replicate-pad and average 2h + 1 neighbours
        h = max(1, round(m[i].item() * top))
        padded = F.pad(x[i : i + 1], (h, h), mode="replicate")
        ref = padded.unfold(2, 2 * h + 1, 1).mean(-1)
        torch.testing.assert_close(y[i : i + 1], ref, rtol=0, atol=1e-5)
    assert y.diff(dim=2).abs().mean() < x.diff(dim=2).abs().mean()


# ---- dispatch and randomness --------------------------------------------------------------------
def _tag_ops(n_ops: int) -> dict:
    """Op k adds 100 k + m: the output names the op and magnitude a sample got."""
    return {f"op{k}": (lambda x, m, k=k: x + 100 * k + m.view(-1, 1, 1)) for k in range(n_ops)}


@pytest.mark.parametrize("branch_free", [False, True])
def test_dispatch_applies_each_sample_its_own_op_and_magnitude(branch_free):
    x = torch.zeros(30, 2, 5)
    op_ids = torch.arange(30) % 4
    mags = torch.rand(30)
    y = apply_signal_ops(x, op_ids, mags, _tag_ops(4), branch_free)
    expected = (100 * op_ids + mags).view(-1, 1, 1).expand_as(x)
    torch.testing.assert_close(y, expected)


def test_rand_augment_seeded_and_per_sample():
    x = torch.randn(1, 2, 64).repeat(64, 1, 1)
    torch.manual_seed(3)
    a = signal_rand_augment(x, 2, None)
    torch.manual_seed(3)
    b = signal_rand_augment(x, 2, None)
    torch.manual_seed(4)
    c = signal_rand_augment(x, 2, None)
    assert torch.equal(a, b) and not torch.equal(a, c)
    # identical inputs, different outputs: every sample draws its own ops, magnitudes and randomness
    assert len(torch.unique(a.flatten(1), dim=0)) > 56  # only identity twice (1/81 each) repeats x


def test_rand_augment_draws_every_op_uniformly(monkeypatch):
    seen = []
    real = S.apply_signal_ops

    def spy(x, op_ids, mags, ops, branch_free):
        seen.append(op_ids)
        assert ((mags >= 0) & (mags <= 1)).all()
        return real(x, op_ids, mags, ops, branch_free)

    monkeypatch.setattr(S, "apply_signal_ops", spy)
    torch.manual_seed(0)
    signal_rand_augment(torch.randn(900, 1, 16), 2, None)
    counts = torch.bincount(torch.cat(seen), minlength=len(OPS))
    assert len(seen) == 2 and counts.min() > 140 and counts.max() < 260  # 200 each expected
    assert torch.equal(signal_rand_augment(torch.ones(3, 1, 8), 0, None), torch.ones(3, 1, 8))


# ---- CPU vs another device / dtype with the same random draws ----------------------------------
def same_draws(monkeypatch, seed: int = 0) -> None:
    """Make ``_uniform``/``_normal`` draw from a seeded CPU generator, then move to the op's device:
    every device sees the same random numbers."""
    g = torch.Generator().manual_seed(seed)
    monkeypatch.setattr(S, "_uniform", lambda shape, like: torch.rand(shape, generator=g).to(like.device))
    monkeypatch.setattr(S, "_normal", lambda shape, like: torch.randn(shape, generator=g).to(like.device))


OTHERS = ["cpu-float64"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("name", OPS)
def test_ops_agree_across_devices_and_dtypes(name, other, monkeypatch):
    device, dtype = ("cpu", torch.float64) if other == "cpu-float64" else (other, torch.float32)
    x = torch.randn(40, 3, 57, generator=torch.Generator().manual_seed(1))
    m = torch.rand(40, generator=torch.Generator().manual_seed(2))
    same_draws(monkeypatch)
    ref = SIGNAL_OPS[name](x, m)
    same_draws(monkeypatch)
    got = SIGNAL_OPS[name](x.to(device, dtype), m.to(device))
    torch.testing.assert_close(got.cpu().float(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("other", OTHERS)
def test_branch_free_rand_augment_agrees_across_devices(other, monkeypatch):
    device, dtype = ("cpu", torch.float64) if other == "cpu-float64" else (other, torch.float32)
    x = torch.randn(64, 2, 48, generator=torch.Generator().manual_seed(1))
    same_draws(monkeypatch)
    ref = signal_rand_augment(x, 3, None, branch_free=True)
    same_draws(monkeypatch)
    got = signal_rand_augment(x.to(device, dtype), 3, None, branch_free=True)
    torch.testing.assert_close(got.cpu().float(), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_branch_free_never_syncs():
    x = torch.randn(64, 3, 128, device="cuda")
    signal_rand_augment(x, 2, None, branch_free=True)  # warm-up
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        signal_rand_augment(x, 2, None, branch_free=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")
