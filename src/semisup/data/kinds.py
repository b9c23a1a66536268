"""The kind of a data set (image, signal, table, vector, text): inferred by the loaders, overridable
with ``data.kind``. The kind picks the views, the default net and the preprocessing inside the model.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from semisup.data.dataset import FLAT_KINDS, KINDS, DataError, SSLDataset

__all__ = ["apply_kind", "check_image_range", "describe", "infer_array_kind"]

MAX_SIGNAL_CHANNELS = 16  # (N, C, L) with C <= 16 and L >= 4 C reads as signals, not (N, H, W) images


def infer_array_kind(X: np.ndarray, what: str = "X") -> str:
    """The kind of a numeric array as stored: ``vector`` (N, D), ``image`` (N, C, H, W) and for (N, C, L)
    ``signal`` when it has few channels for its length (C <= 16 and L >= 4 C) and is not uint8 (pixels),
    else ``image`` (N, H, W). A 3-D array outside [0, 1] that is not uint8 cannot be float images: it
    reads as signals too, with a warning (``data.kind=image`` then says how to scale it).
    """
    if X.ndim != 3:
        return "image" if X.ndim == 4 else "vector"
    if X.dtype.kind not in "iuf" or X.dtype == np.uint8:
        return "image"
    c, length = X.shape[1:]
    if c <= MAX_SIGNAL_CHANNELS and length >= 4 * c:
        return "signal"
    lo, hi = _finite_range(X)
    if lo is not None and (lo < 0 or hi > 1):
        warnings.warn(
            f"{what} of shape {X.shape} holds values in [{lo:.4g}, {hi:.4g}], outside the [0, 1] of float "
            f"images: read as signals with {c} channels of length {length}. For images, scale them to "
            "[0, 1] (or save them as uint8); set data.kind to silence this",
            UserWarning,
            stacklevel=2,
        )
        return "signal"
    return "image"


def _finite_range(X: np.ndarray) -> tuple[float | None, float | None]:
    finite = X[np.isfinite(X)]  # NaN/inf are reported by validate, with their rows
    return (float(finite.min()), float(finite.max())) if finite.size else (None, None)


def check_image_range(X: np.ndarray, what: str) -> np.ndarray:
    """``X`` itself if its finite values are in [0, 1], else a ``DataError`` saying how to scale it."""
    lo, hi = _finite_range(X)
    if lo is not None and (lo < 0 or hi > 1):
        raise DataError(
            f"{what}: image values span [{lo:.4g}, {hi:.4g}] but must be in [0, 1]; "
            "scale them to [0, 1] (e.g. X / 255 for 0-255 pixels) or save them as uint8"
        )
    return X


def apply_kind(data: SSLDataset, kind: str | None) -> SSLDataset:
    """``data`` as ``kind`` (None: as loaded). Flat kinds relabel freely; (N, L) becomes a one-channel
    signal (N, 1, L); (N, 1, H, W) one-channel images become signals (N, H, W) with H channels and
    signals (N, C, L) become one-channel images (N, 1, C, L) (values must be in [0, 1]).

    Raises:
        DataError: an unknown kind, inputs whose shape cannot be that kind, or a declared signal with
            missing values (ragged series) or categorical columns.
    """
    if kind is None or kind == data.kind:
        return data
    if kind not in KINDS:
        raise DataError(f"data.kind must be one of {', '.join(KINDS)}; got {kind!r}")
    X, X_test = data.X, data.X_test
    if kind in FLAT_KINDS and X.ndim == 2:
        return replace(data, kind=kind)
    if kind == "signal" and X.ndim in (2, 3, 4) and (X.ndim < 4 or X.shape[1] == 1):
        _check_signal_values(data)
        to = {2: lambda a: a[:, None, :], 3: lambda a: a, 4: lambda a: a[:, 0]}[X.ndim]
        return replace(data, kind=kind, X=to(X), X_test=None if X_test is None else to(X_test))
    if kind == "image" and X.ndim == 3:
        X = check_image_range(X[:, None], f"{data.name!r} as images (data.kind=image)")
        X_test = None if X_test is None else check_image_range(X_test[:, None], f"{data.name!r} test inputs")
        return replace(data, kind=kind, X=X, X_test=X_test)
    layout = {"image": "(N, H, W) or (N, C, H, W)", "signal": "(N, L) or (N, C, L)"}.get(kind, "(N, D)")
    raise DataError(
        f"data.kind={kind} needs inputs of shape {layout}, but {data.name!r} has {data.X.shape} "
        f"(read as {data.kind}); drop data.kind to use the inferred kind"
    )


def _check_signal_values(data: SSLDataset) -> None:
    """A declared signal is a numeric series of one length: no categorical columns, no missing cells."""
    if data.categories:
        raise DataError(
            f"data.kind=signal needs numeric series, but {data.name!r} has categorical columns "
            f"{sorted(data.categories)[:5]}; drop them or drop data.kind"
        )
    rows = np.flatnonzero(np.isnan(data.X.reshape(len(data.X), -1)).any(axis=1))
    if rows.size:
        raise DataError(
            f"data.kind=signal needs series of one length, but {rows.size} rows of {data.name!r} have "
            f"missing values (first rows: {rows[:5].tolist()}; ragged series?): pad, crop or resample every "
            "series to the same length"
        )


def describe(data: SSLDataset) -> str:
    """One line for a run's start: kind, shape per example, classes, labeled/unlabeled/test counts."""
    shape = "x".join(str(s) for s in data.input_shape)
    test = f", {len(data.X_test):,} test" if data.X_test is not None else ", no test split"
    return (
        f"{data.name}: {data.kind} {shape}, {data.num_classes} classes, {data.n_labeled:,} labeled, "
        f"{data.n_unlabeled:,} unlabeled{test}"
    )
