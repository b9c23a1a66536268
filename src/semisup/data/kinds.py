"""The kind of a data set (image, signal, table, vector, text): inferred by the loaders, overridable
with ``data.kind``. The kind picks the views, the default net and the preprocessing inside the model.
"""

from __future__ import annotations

from dataclasses import replace

from semisup.data.dataset import FLAT_KINDS, KINDS, DataError, SSLDataset

__all__ = ["apply_kind", "describe"]


def apply_kind(data: SSLDataset, kind: str | None) -> SSLDataset:
    """``data`` as ``kind`` (None: as loaded). Flat kinds relabel freely; (N, L) becomes a one-channel
    signal (N, 1, L); (N, 1, H, W) one-channel images become signals (N, H, W) with H channels.

    Raises:
        DataError: an unknown kind, or inputs whose shape cannot be that kind.
    """
    if kind is None or kind == data.kind:
        return data
    if kind not in KINDS:
        raise DataError(f"data.kind must be one of {', '.join(KINDS)}; got {kind!r}")
    X, X_test = data.X, data.X_test
    if kind in FLAT_KINDS and X.ndim == 2:
        return replace(data, kind=kind)
    if kind == "signal" and X.ndim in (2, 3):
        add = (lambda a: a[:, None, :]) if X.ndim == 2 else (lambda a: a)
        return replace(data, kind=kind, X=add(X), X_test=None if X_test is None else add(X_test))
    if kind == "signal" and X.ndim == 4 and X.shape[1] == 1:
        return replace(data, kind=kind, X=X[:, 0], X_test=None if X_test is None else X_test[:, 0])
    layout = {"image": "(N, H, W) or (N, C, H, W)", "signal": "(N, L) or (N, C, L)"}.get(kind, "(N, D)")
    raise DataError(
        f"data.kind={kind} needs inputs of shape {layout}, but {data.name!r} has {data.X.shape} "
        f"(read as {data.kind}); drop data.kind to use the inferred kind"
    )


def describe(data: SSLDataset) -> str:
    """One line for a run's start: kind, shape per example, classes, labeled/unlabeled/test counts."""
    shape = "x".join(str(s) for s in data.input_shape)
    test = f", {len(data.X_test):,} test" if data.X_test is not None else ", no test split"
    return (
        f"{data.name}: {data.kind} {shape}, {data.num_classes} classes, {data.n_labeled:,} labeled, "
        f"{data.n_unlabeled:,} unlabeled{test}"
    )
