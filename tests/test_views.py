"""Weak/strong views: shapes, per-sample randomness, and the numbers each augmentation must produce."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import semisup.data.views as V
from semisup.config import AugmentConfig
from semisup.data.views import IMAGE_OPS, make_views

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def unique_image(n: int, c: int = 1, h: int = 12, w: int = 12) -> torch.Tensor:
    """n copies of an image whose every value is distinct and none is 0.5 (the gray fill)."""
    vals = torch.linspace(0.0, 0.45, c * h * w).view(1, c, h, w)
    return vals.repeat(n, 1, 1, 1)


# ---- API and invariants -----------------------------------------------------------------------
def test_unknown_kind_names_valid_kinds():
    with pytest.raises(ValueError, match="image, signal, table, vector, text"):
        make_views("audio", AugmentConfig())


def test_bad_config_is_rejected_eagerly():
    with pytest.raises(ValueError, match="translate"):
        make_views("image", AugmentConfig(translate=0.7))
    with pytest.raises(ValueError, match="mask_prob"):
        make_views("vector", AugmentConfig(mask_prob=1.5))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(6, 1, 8, 8), (6, 3, 32, 32), (5, 3, 12, 20)])
def test_image_views_keep_shape_dtype_device_and_range(shape, device):
    x = torch.rand(shape, device=device)
    views = make_views("image", AugmentConfig(flip=True))
    assert views["none"](x) is x
    for name in ("weak", "strong"):
        y = views[name](x)
        assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
        assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("device", DEVICES)
def test_bfloat16_input_returns_bfloat16(device):
    x = torch.rand(8, 3, 16, 16, device=device).to(torch.bfloat16)
    views = make_views("image", AugmentConfig(flip=True, strong_ops=3))
    for name in ("weak", "strong"):
        y = views[name](x)
        assert y.dtype == torch.bfloat16 and y.shape == x.shape and y.device == x.device
        assert torch.isfinite(y.float()).all() and y.min() >= 0 and y.max() <= 1


def test_samples_of_an_identical_batch_differ():
    x = torch.rand(1, 3, 16, 16).repeat(32, 1, 1, 1)
    views = make_views("image", AugmentConfig())
    torch.manual_seed(0)
    for name in ("weak", "strong"):
        y = views[name](x).flatten(1)
        assert len(torch.unique(y, dim=0)) > 16, name


@pytest.mark.parametrize("kind, shape", [("image", (16, 3, 16, 16)), ("vector", (16, 7))])
def test_seed_determines_output(kind, shape):
    x = torch.rand(shape)
    strong = make_views(kind, AugmentConfig())["strong"]
    torch.manual_seed(1)
    a = strong(x)
    torch.manual_seed(1)
    b = strong(x)
    torch.manual_seed(2)
    c = strong(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


# ---- weak image view --------------------------------------------------------------------------
def test_weak_without_translate_or_flip_is_identity():
    x = torch.rand(4, 3, 8, 8)
    views = make_views("image", AugmentConfig(translate=0.0, flip=False, cutout=0.0, strong_ops=0))
    assert torch.equal(views["weak"](x), x)
    assert torch.equal(views["strong"](x), x)


@pytest.mark.parametrize("h, w", [(8, 8), (16, 12)])
def test_weak_is_an_integer_shift_with_reflect_padding(h, w):
    translate = 0.25
    x = unique_image(64, c=2, h=h, w=w)
    torch.manual_seed(0)
    y = make_views("image", AugmentConfig(translate=translate))["weak"](x)
    ph, pw = round(translate * h), round(translate * w)
    padded = F.pad(x[:1], (pw, pw, ph, ph), mode="reflect")[0]
    windows = {
        (dy, dx): padded[:, dy : dy + h, dx : dx + w] for dy in range(2 * ph + 1) for dx in range(2 * pw + 1)
    }
    shifts = []
    for yi in y:
        match = [s for s, win in windows.items() if torch.equal(yi, win)]
        assert len(match) == 1, "each output must equal exactly one shifted window"
        shifts.append(match[0])
    assert len(set(shifts)) > 5  # the shift is drawn per sample


def test_flip_about_half_and_exact():
    x = unique_image(400, c=3, h=8, w=8)
    torch.manual_seed(0)
    y = make_views("image", AugmentConfig(translate=0.0, flip=True))["weak"](x)
    same = (y == x).flatten(1).all(1)
    flipped = (y == x.flip(-1)).flatten(1).all(1)
    assert (same ^ flipped).all()
    assert 0.4 < flipped.float().mean().item() < 0.6


# ---- strong image view: RandAugment dispatch and cutout ------------------------------------------
@pytest.mark.parametrize("branch_free", [False, True])
@pytest.mark.parametrize("magnitude", [0.3, None])
def test_rand_augment_applies_one_op_per_round_to_the_right_sample(monkeypatch, magnitude, branch_free):
    """Fake ops tag their output with their index and magnitude, so we can decode what each sample got."""
    fake = {f"op{k}": (lambda x, m, k=k: x + 1000.0 * k + m.view(-1, 1, 1, 1)) for k in range(14)}
    monkeypatch.setattr(V, "IMAGE_OPS", fake)
    x = torch.arange(700.0).view(700, 1, 1, 1).expand(700, 1, 2, 2).contiguous()
    torch.manual_seed(0)
    delta = (V.rand_augment(x, 1, magnitude, branch_free) - x)[:, 0, 0, 0]
    assert torch.equal(V.rand_augment(x, 0, magnitude, branch_free), x)
    k = torch.round(delta / 1000.0)
    m = delta - 1000.0 * k
    counts = torch.bincount(k.long(), minlength=14)
    assert len(counts) == 14 and counts.min() > 20  # every op drawn, roughly uniformly (50 expected)
    assert (m > 0).any() and (m < 0).any()  # random sign
    if magnitude is None:
        assert m.abs().max() <= 1 and m.abs().std() > 0.2  # uniform strength in [0, 1]
    else:
        assert torch.allclose(m.abs(), torch.full_like(m, magnitude), atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(42, 3, 10, 14), (28, 1, 8, 8), (28, 2, 2, 2)])
def test_both_dispatch_paths_equal_the_ops_applied_one_by_one(shape, dtype):
    """Branch-free (one affine + one blend + whole-batch ops, selected per sample) and subset dispatch give
    equal results, and each sample is its own op applied alone, for the same op ids and magnitudes."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=g, dtype=dtype)
    fns = list(IMAGE_OPS.values())
    op_ids = torch.randperm(shape[0], generator=g) % len(fns)  # every op, in a shuffled order
    mags = torch.rand(shape[0], generator=g) * 2 - 1
    fast = V.apply_ops(x, op_ids, mags, branch_free=True)
    assert torch.equal(fast, V.apply_ops(x, op_ids, mags, branch_free=False))
    assert fast.dtype == dtype and fast.min() >= 0 and fast.max() <= 1
    for i, k in enumerate(op_ids.tolist()):
        torch.testing.assert_close(fast[i : i + 1], fns[k](x[i : i + 1], mags[i : i + 1]), atol=1e-6, rtol=0)


@pytest.mark.parametrize("magnitude", [0.7, None])
def test_both_dispatch_paths_give_the_same_views_for_a_seed(magnitude):
    x = torch.rand(32, 3, 10, 10)
    cfg = AugmentConfig(flip=True, strong_ops=3, strong_magnitude=magnitude)
    out = []
    for branch_free in (False, True):
        torch.manual_seed(3)
        out.append(V.ImageView(cfg, strong=True, branch_free=branch_free)(x))
    assert torch.equal(*out)


@pytest.mark.parametrize("strong", [False, True])
def test_image_views_trace_as_one_graph_without_host_sync(strong):
    """fullgraph=True fails on a graph break: a host sync (.item(), .tolist(), data-dependent shapes or
    control flow). The branch-free views must trace whole, so they can be CUDA-graph captured."""
    x = torch.rand(8, 3, 12, 12)
    view = V.ImageView(AugmentConfig(flip=True), strong=strong, branch_free=True)
    compiled = torch.compile(view.__call__, fullgraph=True, backend="eager")
    torch.manual_seed(0)
    a = compiled(x)
    torch.manual_seed(0)
    assert torch.equal(a, view(x))
    if strong:  # the check has teeth: the subset path reads its subset sizes on the host
        subset = V.ImageView(AugmentConfig(), strong=True, branch_free=False)
        with pytest.raises((torch._dynamo.exc.TorchDynamoException, RuntimeError)):
            torch.compile(subset.__call__, fullgraph=True, backend="eager")(x)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_views_never_sync():
    x = torch.rand(64, 3, 32, 32, device="cuda")
    views = make_views("image", AugmentConfig(flip=True))
    views["strong"](x)  # warm up (lazy CUDA init may sync)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for name in ("weak", "strong"):
            views[name](x)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_cutout_is_one_gray_square():
    side, size = 16, 0.5
    x = unique_image(64, c=3, h=side, w=side)
    torch.manual_seed(0)
    y = make_views("image", AugmentConfig(translate=0.0, strong_ops=0, cutout=size))["strong"](x)
    s = round(size * side)
    full = 0
    for xi, yi in zip(x, y, strict=True):
        changed = (xi != yi).any(0)
        rows, cols = torch.nonzero(changed, as_tuple=True)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        assert changed[r0:r1, c0:c1].all() and int(changed.sum()) == (r1 - r0) * (c1 - c0)  # a filled box
        assert (yi[:, changed] == 0.5).all()
        assert r1 - r0 <= s and c1 - c0 <= s
        inside = r0 > 0 and c0 > 0 and r1 < side and c1 < side
        if inside:
            assert r1 - r0 == s and c1 - c0 == s  # clipped only at the border
            full += 1
    assert full > 0


# ---- single ops -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(IMAGE_OPS))
def test_every_op_stays_in_range_and_is_near_identity_at_zero(name):
    torch.manual_seed(0)
    x = torch.rand(5, 3, 10, 10)
    y = IMAGE_OPS[name](x, torch.rand(5) * 2 - 1)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    if name not in ("autocontrast", "equalize"):  # these have no magnitude
        assert torch.allclose(IMAGE_OPS[name](x, torch.zeros(5)), x, atol=1e-5)


def test_identity_op_returns_input():
    x = torch.rand(3, 1, 8, 8)
    assert IMAGE_OPS["identity"](x, torch.ones(3)) is x


def test_solarize_inverts_above_threshold():
    x = torch.rand(4, 3, 8, 8)
    y = IMAGE_OPS["solarize"](x, torch.full((4,), -0.4))  # threshold 1 - |m| = 0.6
    assert torch.equal(y, torch.where(x > 0.6, 1 - x, x))


def test_posterize_reduces_levels():
    x = torch.linspace(0, 1, 256).view(1, 1, 16, 16)
    for m, levels in [(1.0, 16), (0.5, 64)]:  # 8 - round(4 m) bits kept
        y = IMAGE_OPS["posterize"](x, torch.tensor([m]))
        assert len(torch.unique(y)) == levels
        assert (y <= x + 1e-6).all()  # bits are dropped: values only go down


def test_autocontrast_stretches_each_image():
    x = 0.2 + 0.5 * torch.rand(4, 1, 8, 8)
    y = IMAGE_OPS["autocontrast"](x, torch.zeros(4))
    assert torch.allclose(y.amin((1, 2, 3)), torch.zeros(4)) and torch.allclose(
        y.amax((1, 2, 3)), torch.ones(4)
    )
    flat = torch.full((1, 1, 4, 4), 0.3)
    assert torch.equal(IMAGE_OPS["autocontrast"](flat, torch.zeros(1)), flat)


def test_brightness_is_ordered_by_magnitude():
    x = 0.5 * torch.rand(1, 3, 8, 8).expand(5, 3, 8, 8)
    m = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    y = IMAGE_OPS["brightness"](x, m)
    assert (y.mean((1, 2, 3)).diff() > 0).all()
    assert torch.allclose(y, x * (1 + 0.9 * m).view(-1, 1, 1, 1))


def test_contrast_color_and_sharpness_directions():
    x = torch.rand(2, 3, 12, 12)
    m = torch.tensor([-1.0, 1.0])
    assert IMAGE_OPS["contrast"](x, m)[0].std() < x[0].std()
    gray = IMAGE_OPS["color"](x, m)[0]
    assert (gray.std(0)).mean() < x[0].std(0).mean()  # desaturated: channels closer together
    one_channel = torch.rand(2, 1, 8, 8)
    assert torch.allclose(IMAGE_OPS["color"](one_channel, m), one_channel)
    blurred = IMAGE_OPS["sharpness"](x, m)[0]
    assert blurred.diff(dim=-1).abs().mean() < x[0].diff(dim=-1).abs().mean()


def test_translate_x_by_whole_pixels_fills_gray():
    x = torch.rand(1, 1, 6, 10)
    y = IMAGE_OPS["translate_x"](x, torch.tensor([1.0]))  # 0.3 * 10 = 3 pixels
    assert torch.allclose(y[..., :7], x[..., 3:], atol=1e-5)
    assert torch.allclose(y[..., 7:], torch.full_like(y[..., 7:], 0.5), atol=1e-5)


def test_rotate_changes_image_and_keeps_centre():
    x = torch.zeros(1, 1, 9, 9)
    x[..., 4, :] = 1.0  # a horizontal bar through the centre
    y = IMAGE_OPS["rotate"](x, torch.tensor([1.0]))  # 30 degrees
    assert y[0, 0, 4, 4] > 0.99 and not torch.allclose(y, x, atol=0.1)


def test_ops_match_pil_on_8bit_images():
    """Against PIL (the reference the RandAugment/FixMatch code uses), on 8-bit images at |m| = 1."""
    Image = pytest.importorskip("PIL.Image")
    from PIL import ImageEnhance, ImageOps

    rng = np.random.default_rng(0)
    img = (rng.beta(2, 5, size=(2, 10, 10, 3)) * 255).astype(np.uint8)
    x = torch.from_numpy(img).permute(0, 3, 1, 2).float() / 255
    # (op, m, PIL reference, tolerance in 8-bit levels); PIL rounds its gray/smoothed images to 8 bits
    cases = [
        ("equalize", 1.0, ImageOps.equalize, 1e-3),
        ("posterize", 1.0, lambda im: ImageOps.posterize(im, 4), 1e-3),
        ("autocontrast", 1.0, ImageOps.autocontrast, 1.0),
        ("brightness", 1.0, lambda im: ImageEnhance.Brightness(im).enhance(1.9), 1.0),
        ("color", 1.0, lambda im: ImageEnhance.Color(im).enhance(1.9), 2.0),
        ("contrast", -1.0, lambda im: ImageEnhance.Contrast(im).enhance(0.1), 1.5),
        ("sharpness", 1.0, lambda im: ImageEnhance.Sharpness(im).enhance(1.9), 2.0),
        ("sharpness", -1.0, lambda im: ImageEnhance.Sharpness(im).enhance(0.1), 1.5),
    ]
    for name, m, pil, tol in cases:
        ours = IMAGE_OPS[name](x, torch.full((2,), m)).permute(0, 2, 3, 1).numpy() * 255
        ref = np.stack([np.asarray(pil(Image.fromarray(i))) for i in img]).astype(np.float32)
        assert np.abs(ours - ref).max() <= tol, (name, m, np.abs(ours - ref).max())


# ---- vector views -----------------------------------------------------------------------------
def test_vector_weak_noise_has_the_feature_scale():
    scale = torch.tensor([1.0, 2.0, 0.5, 10.0])
    x = torch.full((20000, 4), 3.0)
    torch.manual_seed(0)
    y = make_views("vector", AugmentConfig(noise_std=0.1), scale)["weak"](x)
    assert torch.allclose(y.std(0), 0.1 * scale, rtol=0.03)
    assert torch.allclose(y.mean(0), x[0], atol=0.05)
    y1 = make_views("vector", AugmentConfig(noise_std=0.2))["weak"](x)
    assert torch.allclose(y1.std(0), torch.full((4,), 0.2), rtol=0.03)


def test_vector_strong_corrupts_with_swaps_and_batch_means():
    cfg = AugmentConfig(noise_std=0.0, mask_prob=0.3, swap_prob=0.5)
    torch.manual_seed(0)
    x = torch.randn(2000, 6) * 5 + 3
    y = make_views("vector", cfg)["strong"](x)
    changed = y != x
    assert abs(changed.float().mean().item() - 0.3) < 0.015
    filled = changed & (y == x.mean(0))
    swapped = changed & ~filled
    assert abs(swapped.float().sum().item() / changed.sum().item() - 0.5) < 0.03
    for i, j in torch.nonzero(swapped)[:300].tolist():
        donors = torch.nonzero(x[:, j] == y[i, j]).flatten().tolist()
        assert donors and i not in donors  # from another row, same column


def test_vector_scale_moves_to_input_dtype_and_checks_width():
    view = make_views("vector", AugmentConfig(), torch.ones(3))["strong"]
    y = view(torch.zeros(10, 3, dtype=torch.float64))
    assert y.dtype == torch.float64 and (torch.device("cpu"), torch.float64) in view._scale
    with pytest.raises(ValueError, match="features"):
        view(torch.zeros(10, 4))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        view(torch.zeros(10, 3, 1))


# ---- the medium view (SequenceMatch) -----------------------------------------------------------
def test_medium_config_is_strong_with_one_op_and_half_the_corruption():
    cfg = AugmentConfig(strong_ops=3, mask_prob=0.3, cutout=0.25)
    mid = V.medium_config(cfg)
    assert (mid.strong_ops, mid.mask_prob, mid.cutout) == (1, 0.15, 0.25)
    assert V.medium_config(AugmentConfig(strong_ops=0)).strong_ops == 0
    assert cfg.strong_ops == 3  # the caller's config is not changed


@pytest.mark.parametrize(
    "kind,x",
    [
        ("image", torch.rand(4, 3, 12, 12)),
        ("signal", torch.randn(4, 2, 32)),
        ("vector", torch.randn(4, 5)),
        ("text", torch.randn(4, 5)),
        ("table", torch.randn(4, 5)),
    ],
)
def test_every_kind_has_a_medium_view(kind, x):
    views = make_views(kind, AugmentConfig(), train_X=torch.randn(20, 5) if kind == "table" else None)
    assert set(views) == {"none", "weak", "medium", "strong"}
    y = views["medium"](x)
    assert y.shape == x.shape and y.dtype == x.dtype and not torch.equal(y, x)


def test_image_medium_is_the_strong_view_with_one_op_and_between_weak_and_strong():
    cfg = AugmentConfig(translate=0.0, cutout=0.0, strong_ops=3)
    x = torch.rand(256, 3, 16, 16)
    views = make_views("image", cfg)
    torch.manual_seed(0)
    medium = views["medium"](x)
    torch.manual_seed(0)
    one_op = V.ImageView(AugmentConfig(translate=0.0, cutout=0.0, strong_ops=1), strong=True)(x)
    assert torch.equal(medium, one_op)
    torch.manual_seed(0)
    strong = views["strong"](x)
    # mean change per image: the weak view (no shift, no flip) is x itself; 1 op changes less than 3
    assert 0 < (medium - x).abs().mean() < 0.6 * (strong - x).abs().mean()


def test_vector_and_table_medium_corrupt_half_as_often_as_strong():
    cfg = AugmentConfig(noise_std=0.0, mask_prob=0.4)
    torch.manual_seed(0)
    x = torch.randn(4000, 6) * 5 + 3
    y = make_views("vector", cfg)["medium"](x)
    assert abs((y != x).float().mean().item() - 0.2) < 0.01
    # SCARF redraws exactly round(p · D) entries per row from the column's values (rarely its own)
    xt = torch.randn(500, 10)
    table = make_views("table", cfg, train_X=xt)
    for view, k in (("medium", 2), ("strong", 4)):
        changed = (table[view](xt) != xt).sum(1).float()
        assert changed.max() == k and changed.mean() > k - 0.05
