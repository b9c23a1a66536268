"""Inputs to predict (no labels needed), read and converted one way for the CLI and for Python.

``to_model_inputs`` is the single conversion from a user's array to what the model takes (uint8 images
-> [0, 1], (N, H, W) -> (N, 1, H, W), (N, L) signals -> (N, 1, L), checks); ``semisup predict`` applies
it to a file's contents (``read_inputs``) and ``Predictor.predict`` to an array, so both agree.
Tables are matched to the training columns by name (``match_columns``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from semisup.data.columns import codes, is_number, missing_mask, read_rows
from semisup.data.dataset import DataError
from semisup.data.files import IMAGE_EXTENSIONS, _read_image


def to_model_inputs(X: Any, input_shape: tuple[int, ...], kind: str, what: str = "inputs") -> np.ndarray:
    """``X`` as float32 ``(N, *input_shape)``, converted as the training loaders convert files.

    - image ``(C, H, W)``: ``(N, H, W)`` when C == 1, channels-last ``(N, H, W, C)``; uint8 pixels are
      divided by 255, float pixels must already be in [0, 1].
    - signal ``(C, L)``: ``(N, L)`` when C == 1, or flat rows ``(N, C * L)``.
    - table: NaN marks a missing cell (imputed by the model); inf is refused. Other kinds refuse NaN.

    Idempotent: converted inputs pass through unchanged.

    Raises:
        DataError: a non-numeric array, a shape that is not ``(N, *input_shape)``, float images outside
            [0, 1], or non-finite values.
    """
    X = np.asarray(X)
    shape, given = tuple(int(s) for s in input_shape), np.shape(X)[1:]
    if X.dtype.kind not in "biuf":
        raise DataError(f"{what} must be numbers, got dtype {X.dtype}")
    if X.ndim == len(shape) and kind in ("image", "signal") and shape[0] == 1:
        X = X[:, None]  # (N, H, W) grayscale images, (N, L) one-channel signals
    elif kind == "image" and X.ndim == 4 and X.shape[1:] != shape and X.shape[1:] == (*shape[1:], shape[0]):
        X = X.transpose(0, 3, 1, 2)  # channels-last images
    elif kind == "signal" and X.ndim == 2 and X.shape[1] == int(np.prod(shape)):
        X = X.reshape(len(X), *shape)  # flat rows (N, C * L)
    if X.shape[1:] != shape:
        raise DataError(f"{what} have shape {given} per example but the model was trained on {shape}")
    if kind == "image" and X.dtype == np.uint8:
        return X.astype(np.float32) / 255.0
    X = X.astype(np.float32)
    finite = np.isfinite(X)
    if kind == "table":
        finite |= np.isnan(X)
    if not finite.all():
        rows = np.flatnonzero(~finite.reshape(len(X), -1).all(axis=1))[:5].tolist()
        held = "inf" if kind == "table" else "NaN or inf"
        raise DataError(f"{what} hold {held} (first rows: {rows}); impute or drop those rows first")
    if kind == "image" and X.size and (X.min() < 0 or X.max() > 1):
        raise DataError(
            f"{what}: image values span [{X.min():.4g}, {X.max():.4g}] but must be in [0, 1] as in training; "
            "pass uint8 pixels (0-255) or scale them to [0, 1]"
        )
    return X


def match_columns(
    header: list[str],
    cells: np.ndarray,
    columns: list[str] | None,
    categories: dict[str, list[str]] | None = None,
    label_column: str = "label",
    what: str = "inputs",
) -> np.ndarray:
    """Text cells ``(N, k)`` under ``header`` -> float32 ``(N, D)`` in the training ``columns``' order.

    Columns are matched by name: any order is fine, a training column that is missing is an error, an
    extra column is ignored with a warning (``label_column`` silently). Categorical columns map their
    values to the training codes (``categories``); an unseen value becomes missing, with a warning.
    Missing cells (blank, NA, NaN, ...) become NaN. ``columns=None`` (a model trained without column
    names): every column but ``label_column``, in file order.

    Raises:
        DataError: missing columns, or text in a numeric column.
    """
    categories = categories or {}
    if columns is None:
        columns = [h for h in header if h != label_column]
    else:
        absent = [c for c in columns if c not in header]
        if absent:
            raise DataError(
                f"{what} lack the columns {absent} the model was trained on (columns are matched by name; "
                f"the model needs {columns})"
            )
        extra = [h for h in header if h not in columns and h != label_column]
        if extra:
            warnings.warn(f"{what}: ignoring columns {extra} the model was not trained on", stacklevel=3)
    X = np.empty((len(cells), len(columns)), dtype=np.float32)
    for j, name in enumerate(columns):
        col = cells[:, header.index(name)]
        if name in categories:
            X[:, j], unknown = codes(col, categories[name])
            if unknown:
                warnings.warn(
                    f"{what}: column {name!r} holds values {unknown[:5]} not seen in training; "
                    f"they are read as missing (known values: {categories[name][:10]})",
                    stacklevel=3,
                )
            continue
        present = ~missing_mask(col)
        X[:, j] = np.nan
        try:
            X[present, j] = col[present].astype(np.float64)
        except ValueError:
            bad = next(v for v in col[present].tolist() if not is_number(v))
            raise DataError(
                f"{what}: column {name!r} must be numeric as in training, but holds {bad!r}"
            ) from None
    return X


def frame_cells(frame: Any) -> tuple[list[str], np.ndarray]:
    """A pandas DataFrame's column names and its cells as text (NaN/None/NA -> missing tokens)."""
    header = [str(c) for c in frame.columns]
    return header, np.char.strip(frame.astype(str).to_numpy(dtype=str).reshape(len(frame), len(header)))


def read_inputs(
    path: str | Path,
    input_shape: tuple[int, ...],
    kind: str,
    label_column: str = "label",
    columns: list[str] | None = None,
    categories: dict[str, list[str]] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Inputs converted by ``to_model_inputs``, and a name per row (row number or file path).

    ``.npz``: key ``X`` (or ``X_test``). ``.csv``: ``match_columns`` (by name when the model kept its
    training ``columns``, else every column but ``label_column`` in order). Folder: every image below it,
    converted and resized to ``input_shape`` (C, H, W).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"input {str(p)!r} does not exist")
    if p.is_dir():
        if kind != "image":
            raise DataError(
                f"{p} is a folder of images but the model was trained on {kind} inputs of shape "
                f"{tuple(input_shape)}; give a .npz (key X) or a .csv of such rows"
            )
        X, names = _read_folder(p, input_shape)
    elif p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            key = "X" if "X" in z else "X_test" if "X_test" in z else None
            if key is None:
                raise DataError(f"{p} has keys {sorted(z.keys())}; put the inputs under key 'X'")
            X = z[key]
        names = [str(i) for i in range(len(X))]
    elif p.suffix == ".csv":
        header, cells, _ = read_rows(p)
        X = match_columns(header, cells, columns, categories, label_column, what=str(p))
        names = [str(i) for i in range(len(X))]
    else:
        raise DataError(f"cannot read {p}: give a .npz (key X), a .csv or a folder of images")
    return to_model_inputs(X, input_shape, kind, what=str(p)), names


def _read_folder(folder: Path, input_shape: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """uint8 (N, C, H, W) images below ``folder``, converted to C channels and resized to (H, W)."""
    files = sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    c, h, w = input_shape
    mode = "L" if c == 1 else "RGB"
    arrays = []
    for f in files:
        im = _read_image(f).convert(mode)
        if im.size != (w, h):
            im = im.resize((w, h))
        a = np.asarray(im, dtype=np.uint8)
        arrays.append(a[None] if c == 1 else a.transpose(2, 0, 1))
    return np.stack(arrays), [str(f.relative_to(folder)) for f in files]
