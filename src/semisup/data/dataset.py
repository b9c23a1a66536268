"""The one container for a semi-supervised data set, and its validation.

``y == -1`` marks an unlabeled example. ``y_true`` keeps the true labels where they are known (built-in
data sets, simulations), only for monitoring (``train/pseudo_acc``); training never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

UNLABELED = -1
# The kinds of input. image: (N, C, H, W) in [0, 1]; signal: (N, C, L) series; table: (N, D) columns of a
# table (categorical columns hold category codes, see ``categories``); vector: (N, D) dense features
# (e.g. embeddings); text: (N, D) sentence embeddings of texts.
KINDS = ("image", "signal", "table", "vector", "text")
FLAT_KINDS = ("table", "vector", "text")


class DataError(ValueError):
    """Bad input data; the message names the problem and the fix."""


@dataclass
class SSLDataset:
    """Inputs, partial labels and an optional test split.

    Attributes:
        X: (N, *input_shape) float32. Images are (N, C, H, W) with values in [0, 1]; vectors (N, D).
        y: (N,) int64 class ids in 0..C-1, or -1 for unlabeled.
        classes: the C class names, in id order.
        kind: one of ``KINDS``; picks the views, the default net and the preprocessing.
        X_test, y_test: optional held-out split with all labels known.
        y_true: optional (N,) true labels (also of unlabeled points), -1 where unknown.
        name: a short name for logs and summaries.
        columns: (D,) feature names of a table (matched by name at prediction time), else None.
        categories: table columns holding categories -> their values in code order (code k is
            ``categories[col][k]``; NaN = missing), else None.
        X_test_unknown: optional test inputs of classes outside ``classes`` (open-set evaluation: a
            class-mismatch split puts its hidden classes' test examples here), scored by
            ``semisup.engine.open_set``; never part of ``X_test``.
    """

    X: np.ndarray
    y: np.ndarray
    classes: list[str]
    kind: str = "vector"
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    y_true: np.ndarray | None = None
    name: str = "data"
    columns: list[str] | None = None
    categories: dict[str, list[str]] | None = None
    X_test_unknown: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    @property
    def labeled_mask(self) -> np.ndarray:
        return self.y != UNLABELED

    @property
    def n_labeled(self) -> int:
        return int(self.labeled_mask.sum())

    @property
    def n_unlabeled(self) -> int:
        return int((~self.labeled_mask).sum())

    def keep_labels(self, labeled_idx: np.ndarray) -> SSLDataset:
        """A copy where only ``labeled_idx`` keep their labels; the others become unlabeled."""
        y_true = self.y.copy() if self.y_true is None else np.where(self.y_true >= 0, self.y_true, self.y)
        y = np.full_like(self.y, UNLABELED)
        y[labeled_idx] = self.y[labeled_idx]
        return replace(self, y=y, y_true=y_true)

    def validate(self) -> SSLDataset:
        """Check shapes, values and labels; raise ``DataError`` naming the problem and the fix."""
        nan_ok = self.kind == "table"  # missing table cells: imputed inside the model (TableEncoder)
        validate_arrays(self.X, self.y, self.num_classes, what="training data", allow_nan=nan_ok)
        if self.kind not in KINDS:
            raise DataError(f"kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        ndim = {"image": 4, "signal": 3}.get(self.kind, 2)
        layout = {"image": "(N, C, H, W)", "signal": "(N, C, L)"}.get(self.kind, "(N, D)")
        if self.X.ndim != ndim:
            raise DataError(f"{self.kind} data must be {layout}; got shape {self.X.shape}")
        if (self.X_test is None) != (self.y_test is None):
            raise DataError("give both X_test and y_test, or neither")
        if self.X_test is not None:
            validate_arrays(
                self.X_test,
                self.y_test,
                self.num_classes,
                what="test data",
                allow_unlabeled=False,
                allow_nan=nan_ok,
            )
            if self.X_test.shape[1:] != self.X.shape[1:]:
                raise DataError(
                    f"test inputs have shape {self.X_test.shape[1:]} per example but training inputs have "
                    f"{self.X.shape[1:]}: they must match"
                )
        if self.X_test_unknown is not None and self.X_test_unknown.shape[1:] != self.X.shape[1:]:
            raise DataError(
                f"unknown-class test inputs have shape {self.X_test_unknown.shape[1:]} per example but "
                f"training inputs have {self.X.shape[1:]}: they must match"
            )
        labeled = self.y[self.labeled_mask]
        if labeled.size == 0:
            raise DataError(
                "no labeled example: every label is -1. Label at least one example per class "
                "(or pass labels_per_class to pick labeled examples from fully labeled data)"
            )
        present = np.unique(labeled)
        if present.size < 2:
            raise DataError(
                f"only one class is labeled ({self.classes[int(present[0])]!r}): a classifier needs labeled "
                "examples of at least two classes"
            )
        return self


def validate_arrays(
    X: np.ndarray,
    y: np.ndarray | None,
    num_classes: int,
    what: str,
    allow_unlabeled: bool = True,
    allow_nan: bool = False,
) -> None:
    """Length match, finite inputs (NaN allowed with ``allow_nan``: missing table cells), labels in
    {-1, 0..C-1}."""
    if y is not None and len(X) != len(y):
        raise DataError(
            f"{what}: X has {len(X)} rows but y has {len(y)} labels; they must have the same length"
        )
    if len(X) == 0:
        raise DataError(f"{what} is empty")
    if not np.issubdtype(X.dtype, np.number):
        raise DataError(f"{what}: inputs must be numbers, got dtype {X.dtype}")
    flat = X.reshape(len(X), -1)
    bad = ~(np.isfinite(flat) | (np.isnan(flat) if allow_nan else False)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        held = "inf" if allow_nan else "NaN or inf"
        raise DataError(
            f"{what}: {int(bad.sum())} rows hold {held} (first rows: {rows}); impute or drop them first"
        )
    if y is None:
        return
    if not np.issubdtype(np.asarray(y).dtype, np.integer):
        raise DataError(f"{what}: labels must be integers (class ids, -1 = unlabeled), got dtype {y.dtype}")
    low = UNLABELED if allow_unlabeled else 0
    out = (y < low) | (y >= num_classes)
    if out.any():
        vals = np.unique(y[out])[:5].tolist()
        allowed = "{-1, 0.." if allow_unlabeled else "{0.."
        raise DataError(
            f"{what}: labels {vals} are outside {allowed}{num_classes - 1}}} for {num_classes} classes; "
            "use class ids 0..C-1" + (" and -1 for unlabeled" if allow_unlabeled else "")
        )
