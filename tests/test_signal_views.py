"""Signal views: the weak shift and amplitude, the strong view's cutout, determinism, and training on
signals end to end (Python API and CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import semisup
import semisup.data.signal_ops as S
from semisup.cli import main
from semisup.config import AugmentConfig
from semisup.data.signal_views import SignalView, cutout_segment, shift_edge
from semisup.data.views import make_views

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def ramp(n: int, c: int = 1, length: int = 40) -> torch.Tensor:
    return torch.arange(1, length + 1, dtype=torch.float32).repeat(n, c, 1)


def test_make_views_for_signals_and_bad_config():
    views = make_views("signal", AugmentConfig())
    assert isinstance(views["weak"], SignalView) and not views["weak"].strong and views["strong"].strong
    x = torch.randn(4, 2, 30)
    assert views["none"](x) is x
    with pytest.raises(ValueError, match="translate"):
        make_views("signal", AugmentConfig(translate=0.7))
    with pytest.raises(ValueError, match=r"float \(N, C, L\)"):
        views["weak"](torch.randn(4, 30))
    with pytest.raises(ValueError, match="amplitude"):
        SignalView(AugmentConfig(), amplitude=1.5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_views_keep_shape_dtype_device(device, dtype):
    x = torch.randn(9, 3, 50, device=device).to(dtype)
    for name, view in make_views("signal", AugmentConfig(strong_ops=3)).items():
        y = view(x)
        assert y.shape == x.shape and y.dtype == dtype and y.device == x.device, name
        assert torch.isfinite(y.float()).all()


def test_no_translate_no_amplitude_no_ops_is_identity():
    cfg = AugmentConfig(translate=0.0, strong_ops=0, cutout=0.0)
    x = torch.randn(5, 2, 20)
    for strong in (False, True):
        assert torch.equal(SignalView(cfg, strong, amplitude=0.0)(x), x)


def test_weak_shift_is_an_edge_padded_integer_shift():
    torch.manual_seed(0)
    x, translate = ramp(200, c=2, length=40), 0.125
    y = shift_edge(x, translate)
    p = round(translate * 40)
    d = y[:, 0, 20] - x[:, 0, 20]  # the middle moved by -shift
    for k in range(-p, p + 1):  # out[t] = x[clamp(t + k)]: a shift, clamped at the ends (not circular)
        rows = d == k
        expected = (torch.arange(40) + k).clamp(0, 39).float() + 1
        assert torch.equal(y[rows], expected.expand(int(rows.sum()), 2, 40))
    assert set(d.long().tolist()) == set(range(-p, p + 1))  # every shift, drawn per sample
    assert torch.equal(y[:, 0], y[:, 1])  # one shift per sample, all channels


def test_weak_amplitude_is_one_factor_per_sample_in_range():
    torch.manual_seed(0)
    x = torch.rand(400, 3, 16) + 0.5
    f = SignalView(AugmentConfig(translate=0.0))(x) / x
    torch.testing.assert_close(f, f[:, :1, :1].expand_as(f))  # one factor for all steps and channels
    assert f.min() >= 0.8 - 1e-6 and f.max() <= 1.2 + 1e-6
    assert f.min() < 0.82 and f.max() > 1.18 and abs(f.mean().item() - 1) < 0.02


def test_cutout_segment_size_and_fill():
    torch.manual_seed(0)
    x = ramp(300, c=2, length=41)  # mean 21 is a ramp value: test the fill by position
    y = cutout_segment(x, 10)
    changed = y != x
    sizes = (y == 21).sum(2)[:, 0] - 1  # the filled steps, less the ramp's own 21
    assert (sizes <= 10).all() and (sizes == 10).float().mean() > 0.5  # clipped at the ends only
    assert (sizes >= 5).all() and torch.equal(changed[:, 0], changed[:, 1])
    view = SignalView(AugmentConfig(translate=0.0, strong_ops=0, cutout=0.5), strong=True, amplitude=0.0)
    masked = (view(x) == 21).sum(2)[:, 0] - 1
    assert masked.max() == round(0.25 * 41)  # cutout 0.5 covers 0.5 ** 2 of the length


@pytest.mark.parametrize("strong", [False, True])
def test_seed_determines_output_and_samples_differ(strong):
    x = torch.randn(1, 2, 64).repeat(64, 1, 1)
    view = SignalView(AugmentConfig(), strong)
    torch.manual_seed(1)
    a = view(x)
    torch.manual_seed(1)
    b = view(x)
    torch.manual_seed(2)
    c = view(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len(torch.unique(a.flatten(1), dim=0)) == 64  # per-sample amplitude: all differ


OTHERS = ["cpu-float64"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("other", OTHERS)
def test_strong_view_agrees_across_devices_with_the_same_draws(other, monkeypatch):
    device, dtype = ("cpu", torch.float64) if other == "cpu-float64" else (other, torch.float32)
    x = torch.randn(32, 3, 70, generator=torch.Generator().manual_seed(0))
    view = SignalView(AugmentConfig(strong_ops=3), strong=True, branch_free=True)
    outs = []
    for dev, dt in (("cpu", torch.float32), (device, dtype)):
        g = torch.Generator().manual_seed(5)
        monkeypatch.setattr(
            S, "_uniform", lambda shape, like, g=g: torch.rand(shape, generator=g).to(like.device)
        )
        monkeypatch.setattr(
            S, "_normal", lambda shape, like, g=g: torch.randn(shape, generator=g).to(like.device)
        )
        outs.append(view(x.to(dev, dt)).cpu().float())
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-4)


# ---- training on signals end to end -------------------------------------------------------------
@pytest.fixture
def one_thread():
    """Small 1-D convolutions run ~10x slower on 2 threads than on 1 when the cores are busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def waves(n: int = 240, length: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sine (class 0) vs square (class 1) waves with random period, phase, amplitude and noise: (n, L)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    period = rng.uniform(12, 32, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    y = np.arange(n) % 2
    s = np.sin(2 * np.pi * t / period + phase)
    X = np.where(y[:, None] == 0, s, np.sign(s)) * rng.uniform(0.5, 2, (n, 1))
    return (X + 0.3 * rng.normal(size=X.shape)).astype(np.float32), y


def test_fixmatch_learns_signals_with_the_default_net(tmp_path, one_thread):
    X, y = waves()
    y_train = np.where(np.arange(160) < 10, y[:160], -1)  # 5 labels per class
    data = semisup.SSLDataset(
        X=X[:160, None], y=y_train, classes=["sine", "square"], kind="signal", X_test=X[160:, None],
        y_test=y[160:], name="waves",
    )  # fmt: skip
    cfg = semisup.RunConfig.from_dict(
        {
            "algorithm": "fixmatch",
            "data": {"batch_size": 8, "mu": 4},
            "train": {"steps": 60, "eval_every": 60, "ema_decay": 0.9, "progress": False},
        }
    )
    torch.manual_seed(0)
    res = semisup.fit(cfg, tmp_path / "run", data=data)
    assert res.summary["net"] == "cnn1d" and cfg.data.kind == "signal"
    assert res.summary["test_accuracy"] >= 0.85


def test_cli_trains_on_an_n_by_l_array_declared_signal(tmp_path, one_thread):
    X, y = waves(120)
    y = np.where(np.arange(120) < 100, y, -1)
    np.savez(tmp_path / "w.npz", X=X, y=y, X_test=X[:40], y_test=waves(120)[1][:40])
    out = tmp_path / "run"
    args = ["train", "--data", str(tmp_path / "w.npz"), "--algorithm", "fixmatch", "--steps", "6"]
    args += ["--out", str(out), "--no-progress", "--labels-per-class", "4", "--set", "data.kind=signal"]
    assert main(args + ["--set", "data.batch_size=4", "--set", "train.eval_every=6"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["net"] == "cnn1d" and summary["test_accuracy"] is not None
    assert summary["kind"] == "signal" and summary["input_shape"] == [1, 64]
    assert "kind: signal" in (out / "config.yaml").read_text()
    pred = semisup.load(out).predict_ids(X[:40, None])  # the saved model scores as the run did
    assert abs((pred == waves(120)[1][:40]).mean() - summary["test_accuracy"]) < 1e-6
