"""Signals as a data kind: inferred from .npz arrays, overridable with data.kind, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from semisup.config import DataConfig
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.files import _as_inputs, load_npz
from semisup.data.kinds import apply_kind, infer_array_kind
from semisup.data.load import load_dataset

Y8 = np.array([0, 1] * 4)


def npz(tmp_path, X, y=Y8, **more):
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y, **more)
    return path


def cfg(path, kind=None) -> DataConfig:
    return DataConfig(name=str(path), labels_per_class=None, kind=kind)


@pytest.mark.parametrize(
    ("shape", "dtype", "kind"),
    [
        ((8, 1, 64), np.float32, "signal"),
        ((8, 16, 64), np.float64, "signal"),  # 16 channels, L = 4 C
        ((8, 3, 200), np.int16, "signal"),  # integer sensor counts
        ((8, 2, 64), np.uint8, "image"),  # uint8 is pixels
        ((8, 28, 28), np.float32, "image"),  # square
        ((8, 17, 100), np.float32, "image"),  # too many channels for a signal, values in [0, 1]
        ((8, 8, 30), np.float32, "image"),  # L < 4 C
        ((8, 10), np.float32, "vector"),
        ((8, 1, 4, 4), np.float32, "image"),
    ],
)
def test_infer_array_kind(shape, dtype, kind):
    X = (np.random.default_rng(0).random(shape) * (100 if dtype == np.int16 else 1)).astype(dtype)
    assert infer_array_kind(X) == kind


def test_signals_load_unscaled_and_negative(tmp_path):
    X = np.random.default_rng(0).normal(0, 50, (8, 2, 64)).astype(np.float32)
    d = load_npz(npz(tmp_path, X, X_test=X[:4], y_test=Y8[:4]))
    assert d.kind == "signal" and d.X.shape == (8, 2, 64) and d.X_test.shape == (4, 2, 64)
    np.testing.assert_array_equal(d.X, X)  # not scaled to [0, 1]
    assert d.X.dtype == np.float32 and d.X.min() < 0


def test_out_of_range_square_floats_read_as_signals_with_a_warning(tmp_path):
    X = np.random.default_rng(0).normal(0, 3, (8, 20, 20)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"read as signals with 20 channels of length 20.*data.kind"):
        d = load_dataset(cfg(npz(tmp_path, X)), seed=0)
    assert d.kind == "signal" and d.X.shape == (8, 20, 20)
    # declared images: the image rule (values in [0, 1]) explains the fix
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"must be in \[0, 1\]; scale them"):
        load_dataset(cfg(npz(tmp_path, X), kind="image"), seed=0)


def test_kind_overrides_either_way(tmp_path):
    sig = np.random.default_rng(0).random((8, 2, 64)).astype(np.float32)  # inferred signal, in [0, 1]
    d = load_dataset(cfg(npz(tmp_path, sig), kind="image"), seed=0)
    assert d.kind == "image" and d.X.shape == (8, 1, 2, 64)
    np.testing.assert_array_equal(d.X[:, 0], sig)
    img = np.random.default_rng(0).random((8, 12, 12)).astype(np.float32)  # inferred image
    d = load_dataset(cfg(npz(tmp_path, img, X_test=img[:2], y_test=Y8[:2]), kind="signal"), seed=0)
    assert d.kind == "signal" and d.X.shape == (8, 12, 12) and d.X_test.shape == (2, 12, 12)
    flat = np.random.default_rng(0).normal(size=(8, 50)).astype(np.float32)
    d = load_dataset(cfg(npz(tmp_path, flat), kind="signal"), seed=0)
    assert d.kind == "signal" and d.X.shape == (8, 1, 50)
    np.testing.assert_array_equal(d.X[:, 0], flat)


def test_bad_signal_declarations_fail_clearly(tmp_path):
    rows = np.empty(8, dtype=object)
    rows[:] = [np.zeros(5 + i) for i in range(8)]  # ragged series
    np.savez(tmp_path / "ragged.npz", X=rows, y=Y8)
    with pytest.raises(DataError, match="object array .*same shape: pad, crop or resample"):
        load_dataset(cfg(tmp_path / "ragged.npz", kind="signal"), seed=0)
    X = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    X[2, 4:] = np.nan  # a table of series padded with blanks
    table = SSLDataset(X=X, y=Y8, classes=["a", "b"], kind="table", name="t")
    with pytest.raises(DataError, match=r"signal needs series of one length.*first rows: \[2\]"):
        apply_kind(table, "signal")
    cats = SSLDataset(X=X[:, :2], y=Y8, classes=["a", "b"], kind="table", categories={"color": ["r", "g"]})
    with pytest.raises(DataError, match="categorical columns"):
        apply_kind(cats, "signal")
    rgb = SSLDataset(X=np.zeros((8, 3, 4, 4), np.float32), y=Y8, classes=["a", "b"], kind="image")
    with pytest.raises(DataError, match=r"data.kind=signal needs inputs of shape \(N, L\) or \(N, C, L\)"):
        apply_kind(rgb, "signal")


def test_as_inputs_for_prediction_follows_the_model_kind():
    X = np.random.default_rng(0).normal(size=(3, 50)).astype(np.float32)
    assert _as_inputs(X, "X", "signal").shape == (3, 1, 50)  # (N, L) for a one-channel signal model
    assert _as_inputs(X[:, None], "X").shape == (3, 1, 50)  # inferred
    with pytest.raises(DataError, match=r"signals must be \(N, L\) or \(N, C, L\)"):
        _as_inputs(np.zeros((3, 1, 4, 4)), "X", "signal")


def test_declared_uint8_signals_are_not_scaled_as_pixels(tmp_path):
    """Regression: uint8 series declared a signal were divided by 255 at load (pixels), but not at
    prediction, so the model saw other values than in training."""
    from semisup.config import DataConfig
    from semisup.data.load import load_dataset

    X = np.random.default_rng(0).integers(0, 256, size=(20, 3, 40), dtype=np.uint8)
    y = np.array([0, 1] * 10)
    np.savez(tmp_path / "u8.npz", X=X, y=y)
    data = load_dataset(DataConfig(name=str(tmp_path / "u8.npz"), labels_per_class=None, kind="signal"), 0)
    assert data.kind == "signal" and data.X.shape == (20, 3, 40)
    assert np.array_equal(data.X, X.astype(np.float32))
