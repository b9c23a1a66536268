"""Reading inputs to predict (no labels needed): ``.npz``, ``.csv`` or a folder of images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from semisup.data.dataset import DataError
from semisup.data.files import IMAGE_EXTENSIONS, _as_inputs, _read_image


def read_inputs(
    path: str | Path, input_shape: tuple[int, ...], kind: str, label_column: str = "label"
) -> tuple[np.ndarray, list[str]]:
    """Inputs shaped like the training data, and a name per row (row number or file path).

    ``.npz``: key ``X`` (or ``X_test``). ``.csv``: every column but ``label_column``, in order.
    Folder: every image below it, converted and resized to ``input_shape`` (C, H, W).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"input {str(p)!r} does not exist")
    if p.is_dir():
        return _read_folder(p, input_shape)
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            key = "X" if "X" in z else "X_test" if "X_test" in z else None
            if key is None:
                raise DataError(f"{p} has keys {sorted(z.keys())}; put the inputs under key 'X'")
            X = _as_inputs(z[key], str(p))
        return X, [str(i) for i in range(len(X))]
    if p.suffix == ".csv":
        X = _read_csv(p, label_column)
        return X, [str(i) for i in range(len(X))]
    raise DataError(f"cannot read {p}: give a .npz (key X), a .csv or a folder of images")


def _read_csv(p: Path, label_column: str) -> np.ndarray:
    with p.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise DataError(f"{p} is empty")
    header, body = rows[0], rows[1:]
    keep = [i for i, h in enumerate(header) if h != label_column]
    try:
        return np.array([[float(r[i]) for i in keep] for r in body], dtype=np.float32)
    except ValueError as e:
        raise DataError(f"{p}: every column except {label_column!r} must be numeric ({e})") from e


def _read_folder(folder: Path, input_shape: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
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
    return np.stack(arrays).astype(np.float32) / 255.0, [str(f.relative_to(folder)) for f in files]
