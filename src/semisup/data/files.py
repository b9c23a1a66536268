"""User data from disk: ``.npz`` arrays, ``.csv`` tables, image folders and CIFAR python pickles.

Every loader returns an ``SSLDataset`` with float32 ``X`` and int64 ``y`` (``-1`` = unlabeled) and leaves
the full check to ``SSLDataset.validate`` (``load_dataset`` calls it). Problems only a loader can see
(missing keys or columns, unreadable files, pixel ranges) raise ``DataError`` naming the fix.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from semisup.data.columns import encode_table, read_rows
from semisup.data.dataset import UNLABELED, DataError, SSLDataset
from semisup.data.kinds import check_image_range, infer_array_kind

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_UNLABELED_TOKENS = ("", "-1")


def _default_classes(*ys: np.ndarray | None) -> list[str]:
    """Names "0".."C-1" with C = largest label + 1."""
    top = max((int(y.max()) for y in ys if y is not None and y.size), default=-1)
    return [str(i) for i in range(top + 1)]


def _encode_labels(
    *columns: np.ndarray, classes: list[str] | None = None
) -> tuple[list[np.ndarray], list[str]]:
    """Text labels ("" or "-1" = unlabeled) -> int64 ids 0..K-1, and the K class names in id order.

    Integer labels (``"3"``, ``"3.0"``) name their classes by value in numeric order, so labels 1..K
    give exactly K classes ``"1".."K"`` (no class 0 that never occurs); other text gives the sorted names.
    ``classes``: map onto these names instead (e.g. a test file onto the training classes).

    Raises:
        DataError: with ``classes``, a label that is not one of them.
    """
    cols = [np.char.strip(np.asarray(c, dtype=str)) for c in columns]
    known = np.unique(np.concatenate([c[~np.isin(c, _UNLABELED_TOKENS)] for c in cols]))
    try:
        as_num = known.astype(np.float64)
        numeric = bool(np.all(as_num == np.round(as_num)))
    except ValueError:
        numeric = False
    if numeric:  # canonical names: "3.0" and "03" are class "3"
        canon = {v: str(int(f)) for v, f in zip(known.tolist(), as_num.tolist(), strict=True)}
        cols = [np.array([canon.get(v, v) for v in c.tolist()], dtype=str) for c in cols]
        names = sorted(set(canon.values()) - {str(UNLABELED)}, key=int)  # "-1.0" is unlabeled too
    else:
        names = sorted(known.tolist())
    if classes is not None:
        extra = sorted(set(names) - set(classes))
        if extra:
            raise DataError(f"labels {extra[:5]} are not among the classes {classes}")
        names = list(classes)
    lookup = {name: i for i, name in enumerate(names)}
    ids = [np.array([lookup.get(v, UNLABELED) for v in c.tolist()], dtype=np.int64) for c in cols]
    return ids, names


def _as_labels(y: np.ndarray, what: str) -> np.ndarray:
    if y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all()):
        return y.astype(np.int64)
    raise DataError(
        f"{what} must hold integer class ids (-1 = unlabeled) or class names, got dtype {y.dtype}"
    )


def _as_inputs(X: np.ndarray, what: str, kind: str | None = None) -> np.ndarray:
    """float32 inputs of ``kind`` (None: ``infer_array_kind``). vector/table/text: (N, D). image: (N, H, W),
    (N, C, H, W) or (N, H, W, 1|3) -> (N, C, H, W) in [0, 1] (uint8 divided by 255). signal: (N, L) or
    (N, C, L) -> (N, C, L), values kept as they are (not scaled, may be negative)."""
    if X.dtype.kind not in "biuf" or X.ndim not in (2, 3, 4):
        raise DataError(
            f"{what} must be a numeric array of shape (N, D), (N, H, W) or (N, C, H, W); "
            f"got dtype {X.dtype} and shape {X.shape}"
        )
    kind = infer_array_kind(X, what) if kind is None else kind
    if kind == "signal":
        if X.ndim == 4:
            raise DataError(f"{what}: signals must be (N, L) or (N, C, L), got shape {X.shape}")
        return (X[:, None] if X.ndim == 2 else X).astype(np.float32)
    if X.ndim == 2:
        return X.astype(np.float32)
    if X.ndim == 3:
        X = X[:, None]
    elif X.shape[1] not in (1, 3) and X.shape[3] in (1, 3):
        X = X.transpose(0, 3, 1, 2)  # channels-last input
    if X.dtype == np.uint8:
        return X.astype(np.float32) / 255.0
    return check_image_range(X.astype(np.float32), what)


def load_npz(path: str | Path, kind: str | None = None) -> SSLDataset:
    """Arrays saved with ``numpy.savez(path, X=..., y=..., [X_test=..., y_test=..., classes=...])``.

    ``X`` of shape (N, D) is vector data; (N, C, H, W) is image data (uint8 pixels are divided by 255;
    float pixels must already be in [0, 1]); (N, C, L) is a signal when it has few channels for its length
    or values outside [0, 1], else (N, H, W) grayscale images (``infer_array_kind``; ``data.kind``
    overrides: a declared ``kind`` is read as that kind, so uint8 signals are not scaled as pixels).
    ``y`` uses -1 for unlabeled.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays: dict[str, np.ndarray] = {k: f[k] for k in f.files}
    except Exception as e:  # bad zip, not an npz at all, object arrays
        if "Object arrays" in str(e):  # numpy.savez of rows with different lengths stores an object array
            raise DataError(
                f"{path} holds an object array (rows of different lengths?); every example must have the "
                "same shape: pad, crop or resample series to one length and save a numeric array"
            ) from e
        raise DataError(
            f"cannot read {path} as .npz ({e}); save it with numpy.savez(path, X=..., y=...)"
        ) from e
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise DataError(
            f"{path} has no array {' or '.join(missing)}; found keys {sorted(arrays)}. "
            "Save it with numpy.savez(path, X=inputs, y=labels) with y = -1 for unlabeled examples"
        )
    X, X_test = arrays["X"], arrays.get("X_test")
    y, y_test = arrays["y"], arrays.get("y_test")
    if y.dtype.kind in "US":  # class names as labels
        (y, *rest), classes = _encode_labels(y, *([] if y_test is None else [y_test]))
        y_test = rest[0] if rest else None
    else:
        y = _as_labels(y, f"{path}: y")
        y_test = None if y_test is None else _as_labels(y_test, f"{path}: y_test")
        classes = _default_classes(y, y_test)
    if "classes" in arrays:
        classes = [str(c) for c in np.atleast_1d(arrays["classes"]).tolist()]
    inferred = infer_array_kind(X, f"{path}: X")
    # a declared signal is read as one (apply_kind does the other conversions from the inferred kind)
    kind = "signal" if kind == "signal" and X.ndim in (2, 3) else inferred
    X = _as_inputs(X, f"{path}: X", kind)
    X_test = None if X_test is None else _as_inputs(X_test, f"{path}: X_test", kind)
    return SSLDataset(X=X, y=y, classes=classes, kind=kind, X_test=X_test, y_test=y_test, name=path.stem)


def load_csv(path: str | Path, label_column: str = "label") -> SSLDataset:
    """A table with a header row and a label column (blank or -1 = unlabeled), read as kind ``table``.

    Numeric columns keep their numbers; a column holding other text becomes a categorical column (codes
    0..K-1 in sorted order, names in ``categories``). Blank, NA, NaN, null, None and ? cells are missing
    values (NaN), imputed inside the trained model. Labels may be integers (class ``"k"`` for label k,
    only the labels that occur) or names such as ``spam`` (ids follow sorted names). ``columns`` keeps the
    feature names, matched by name at prediction time.
    """
    path = Path(path)
    header, cells, _ = read_rows(path)
    if label_column not in header:
        raise DataError(
            f"{path} has no label column {label_column!r}; its columns are {header}. "
            "Pass --set data.label_column=NAME (or label_column=NAME) to name the column holding the labels"
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise DataError(f"{path}: column names must be unique (features are matched by name); {twice} repeat")
    j = header.index(label_column)
    features = [k for k in range(len(header)) if k != j]
    if not features:
        raise DataError(f"{path} has no feature columns besides {label_column!r}")
    columns = [header[k] for k in features]
    X, categories = encode_table(columns, cells[:, features], what=str(path))
    (y,), classes = _encode_labels(cells[:, j])
    return SSLDataset(
        X=X,
        y=y,
        classes=classes,
        kind="table",
        name=path.stem,
        columns=columns,
        categories=categories or None,
    )


def _image_files(pairs: list[tuple[Path, int]]) -> tuple[list[Path], list[int]]:
    """Image files under each (folder, label) pair, sorted; a class folder without images is an error."""
    files: list[Path] = []
    labels: list[int] = []
    for folder, label in pairs:
        found = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
        )
        if not found and label != UNLABELED:
            raise DataError(f"class folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [label] * len(found)
    return files, labels


def _read_image(p: Path) -> Any:
    from PIL import Image

    try:
        with Image.open(p) as im:
            im.load()
            return im.copy()
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError... for broken files
        raise DataError(
            f"cannot read image {p} ({type(e).__name__}: {e}); replace or delete that file"
        ) from e


def _is_gray(im: Any) -> bool:
    if im.mode == "P":  # palette images (GIF): gray if every palette entry is
        pal = np.asarray(im.getpalette() or [0, 0, 0], dtype=np.uint8).reshape(-1, 3)
        return bool((pal == pal[:, :1]).all())
    return im.mode in ("1", "L", "LA")


def load_image_folder(path: str | Path, size: int | tuple[int, int] | None = None) -> SSLDataset:
    """``path/<class>/*.png`` per class, optional ``path/unlabeled/`` and ``path/test/<class>/``.

    Images (png, jpg, jpeg, bmp, gif) become grayscale if all are, RGB otherwise, and are resized to
    ``size`` (an int or (H, W)); with ``size=None`` they must all have the same size.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give a folder with one sub-folder of images per class")
    subdirs = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = [d for d in subdirs if d not in ("unlabeled", "test")]
    if not classes:
        raise DataError(
            f"{root} holds no class sub-folders; put each class's images in {root}/<class name>/ "
            f"and unlabeled images in {root}/unlabeled/"
        )
    pairs = [(root / c, i) for i, c in enumerate(classes)]
    files, labels = _image_files(pairs + [(root / "unlabeled", UNLABELED)] * (root / "unlabeled").is_dir())
    test_dirs = sorted(d for d in (root / "test").glob("*") if d.is_dir())
    for d in test_dirs:
        if d.name not in classes:
            raise DataError(f"test folder {d} is not one of the classes {classes}; rename or remove it")
    test_files, test_labels = _image_files([(d, classes.index(d.name)) for d in test_dirs])
    paths = files + test_files
    images = [_read_image(p) for p in paths]
    mode = "L" if all(_is_gray(im) for im in images) else "RGB"
    k = next((k for k, im in enumerate(images) if im.size != images[0].size), None)
    if size is None and k is not None:
        (w0, h0), (w1, h1) = images[0].size, images[k].size
        raise DataError(
            f"images differ in size: {paths[0]} is {h0}x{w0} (HxW) but {paths[k]} is {h1}x{w1}; "
            "resize them all with --image-size H W (config data.image_size: [H, W]; Python: size=(H, W))"
        )
    wh = None if size is None else (size, size) if isinstance(size, int) else (size[1], size[0])
    ims = [im.convert(mode) if wh is None else im.convert(mode).resize(wh, resample=2) for im in images]
    X = np.stack([np.asarray(im, dtype=np.uint8) for im in ims])  # resample 2: bilinear
    X = (X[:, None] if mode == "L" else X.transpose(0, 3, 1, 2)).astype(np.float32) / 255.0
    n, y = len(files), np.array(labels, dtype=np.int64)
    X_test, y_test = (X[n:], np.array(test_labels, dtype=np.int64)) if test_files else (None, None)
    return SSLDataset(
        X=X[:n], y=y, classes=classes, kind="image", X_test=X_test, y_test=y_test, name=root.name
    )


# CIFAR layouts: first training file -> (label key, meta file, class-names key, test file)
_CIFAR = {
    "data_batch_1": ("labels", "batches.meta", "label_names", "test_batch"),  # CIFAR-10
    "train": ("fine_labels", "meta", "fine_label_names", "test"),  # CIFAR-100, fine labels
}


def _unpickle(p: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """One CIFAR python pickle, with its keys as text; ``keys`` must be present."""
    try:
        with open(p, "rb") as f:
            d = pickle.load(f, encoding="bytes")  # pickles can run code: only for files you trust
        d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    except Exception as e:
        raise DataError(f"cannot read CIFAR file {p} ({type(e).__name__}: {e})") from e
    if any(k not in d for k in keys):
        raise DataError(f"{p} is not a CIFAR python file: it needs keys {list(keys)}, has {sorted(d)}")
    return d


def _cifar_batch(p: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(p, ("data", label_key))
    X = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return X.astype(np.float32) / 255.0, np.asarray(d[label_key], dtype=np.int64)


def load_cifar_python(path: str | Path) -> SSLDataset:
    """CIFAR-10 (``data_batch_1..5``, ``test_batch``, ``batches.meta``) or CIFAR-100 (``train``, ``test``,
    ``meta``) python pickles as (N, 3, 32, 32) images in [0, 1]. Load only files you trust.

    ``path`` is the extracted folder or the folder holding ``cifar-10-batches-py``/``cifar-100-python``.
    """
    root = Path(path)
    for sub in ("cifar-10-batches-py", "cifar-100-python"):
        root = root / sub if (root / sub).is_dir() else root
    first = next((f for f in _CIFAR if (root / f).is_file()), None)
    if first is None:
        raise DataError(f"{root} holds no CIFAR python files (data_batch_1... or train); extract the archive")
    label_key, meta, names_key, test = _CIFAR[first]
    train = sorted(root.glob(first.replace("_1", "_*")), key=lambda p: p.name.rsplit("_", 1)[-1].zfill(4))
    parts = [_cifar_batch(p, label_key) for p in train]
    X, y = np.concatenate([x for x, _ in parts]), np.concatenate([t for _, t in parts])
    X_test, y_test = _cifar_batch(root / test, label_key) if (root / test).is_file() else (None, None)
    if (root / meta).is_file():
        classes = [
            n.decode() if isinstance(n, bytes) else str(n)
            for n in _unpickle(root / meta, (names_key,))[names_key]
        ]
    else:
        classes = _default_classes(y, y_test)
    return SSLDataset(X=X, y=y, classes=classes, kind="image", X_test=X_test, y_test=y_test, name=root.name)
