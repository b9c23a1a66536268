"""``load_dataset``: a built-in name or a path -> a validated ``SSLDataset`` with the chosen labels."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from semisup.config import DataConfig, ImbalanceConfig
from semisup.data import builtin  # noqa: F401  (registers the built-in data sets)
from semisup.data.builtin import dataset_info
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.files import load_cifar_python, load_csv, load_image_folder, load_npz
from semisup.data.imbalance import long_tailed
from semisup.data.kinds import apply_kind
from semisup.data.mismatch import class_mismatch
from semisup.data.split import select_labeled
from semisup.registry import DATASETS, UnknownNameError, unknown_name_message
from semisup.seeds import stream

__all__ = ["UnknownDatasetError", "dataset_info", "load_dataset", "read_data", "read_labeled"]


class UnknownDatasetError(UnknownNameError, DataError):
    """Neither a built-in data set nor an existing path; the message suggests the closest names."""


def _is_cifar_folder(path: Path) -> bool:
    """A CIFAR python folder (its pickles, or the folder the archive unpacks to), not an image folder."""
    cifar = (path / "data_batch_1").is_file() or (path / "train").is_file() and (path / "meta").is_file()
    return cifar or any((path / sub).is_dir() for sub in ("cifar-10-batches-py", "cifar-100-python"))


def read_data(
    name: str,
    label_column: str = "label",
    text_column: str | None = None,
    kind: str | None = None,
    image_size: tuple[int, int] | None = None,
) -> SSLDataset:
    """The data set behind ``name`` as stored: a built-in, a ``.npz``/``.csv`` file or a folder.

    A folder holding ``data_batch_1`` (or ``train`` and ``meta``) is read as CIFAR python pickles; any
    other folder as an image folder (one sub-folder per class), its images resized to ``image_size`` (H, W)
    when given. A ``.csv`` with ``text_column`` is a text data set: the texts are embedded once with the
    offline sentence model and cached (``semisup.text``).
    """
    if image_size is not None and (text_column is not None or not Path(name).expanduser().is_dir()):
        raise DataError(f"data.image_size resizes image folders only; {name!r} is not one: leave it unset")
    if text_column is not None:
        if Path(name).suffix.lower() != ".csv" or not Path(name).is_file():
            raise DataError(f"data.text_column needs a .csv file of texts; {name!r} is not one")
        from semisup.text import load_text_csv

        return load_text_csv(name, text_column, label_column)
    if name in DATASETS:
        return DATASETS.get(name)()
    path = Path(name).expanduser()
    if not path.exists():
        raise UnknownDatasetError(
            unknown_name_message("data set", name, DATASETS.names()).rstrip(".")
            + f", or a path to a .npz, .csv or image folder (no file or folder {str(path)!r} exists)."
        )
    if path.is_dir():
        if _is_cifar_folder(path):
            if image_size is not None:
                raise DataError("data.image_size resizes image folders, not CIFAR files: leave it unset")
            return load_cifar_python(path)
        return load_image_folder(path, image_size)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path, kind)
    if suffix == ".csv":
        return load_csv(path, label_column=label_column)
    raise DataError(f"cannot read {str(path)!r}: give a .npz file, a .csv file or an image folder")


def load_dataset(cfg: DataConfig, seed: int) -> SSLDataset:
    """Read ``cfg.name`` and keep ``cfg.labels_per_class`` (or ``cfg.label_fraction``) labels per class.

    The labeled examples are drawn with ``cfg.split_seed`` (the run's ``seed`` when ``None``), stratified
    and deterministic; with both ``None`` the labels in the data are kept (``-1`` = unlabeled). The true
    labels of the examples made unlabeled stay in ``y_true``.

    The test split (scored at each evaluation) is the data's own, or, first of all and replacing it with a
    warning when the data has one: ``cfg.test``, a labeled file read like the training data
    (``read_labeled``: classes matched by name), or ``cfg.test_fraction`` of the labeled examples held
    out (stratified, seeded like the labels, removed from training) before the labels are chosen.

    Raises:
        UnknownDatasetError: ``cfg.name`` is neither a built-in nor an existing path.
        DataError: the data or the label selection is invalid; the message names the fix.
    """
    raw = read_data(cfg.name, cfg.label_column, cfg.text_column, cfg.kind, cfg.image_size)
    data = apply_kind(raw, cfg.kind).validate()
    split_seed = cfg.split_seed if cfg.split_seed is not None else seed
    data = _with_test_split(data, cfg, split_seed)
    if cfg.imbalance is not None:
        return _long_tailed(data, cfg, cfg.imbalance, split_seed)
    if (cfg.mismatch_classes is None) != (cfg.mismatch_fraction is None):
        raise DataError(
            "class mismatch needs both data.mismatch_classes (ids never labeled) and "
            "data.mismatch_fraction (their share of the unlabeled pool), or neither"
        )
    if cfg.mismatch_classes is not None and cfg.mismatch_fraction is not None:
        return class_mismatch(
            data,
            cfg.mismatch_classes,
            cfg.mismatch_fraction,
            cfg.labels_per_class,
            cfg.label_fraction,
            split_seed,
            cfg.mismatch_pool_size,
        ).validate()
    if cfg.labels_per_class is not None or cfg.label_fraction is not None:
        idx = select_labeled(
            data.y,
            labels_per_class=cfg.labels_per_class,
            fraction=cfg.label_fraction,
            seed=split_seed,
            classes=data.classes,
        )
        data = data.keep_labels(idx).validate()
    return data


def _long_tailed(data: SSLDataset, cfg: DataConfig, imb: ImbalanceConfig, seed: int) -> SSLDataset:
    """``data`` split as ``imb`` asks, with ``cfg.labels_per_class`` labels of the head class (N_1)."""
    if cfg.mismatch_classes is not None or cfg.label_fraction is not None or cfg.labels_per_class is None:
        raise DataError(
            "data.imbalance sets the labels per class from data.labels_per_class (the head class's count): "
            "set labels_per_class and drop data.label_fraction and the mismatch keys"
        )
    return long_tailed(
        data,
        cfg.labels_per_class,
        imb.labeled_ratio,
        imb.unlabeled_ratio,
        imb.unlabeled,
        imb.unlabeled_head,
        seed,
    ).validate()


def _with_test_split(data: SSLDataset, cfg: DataConfig, seed: int) -> SSLDataset:
    """``data`` with the test split ``cfg.test`` / ``cfg.test_fraction`` asks for (unchanged if neither)."""
    if cfg.test is None and cfg.test_fraction is None:
        return data
    if cfg.test is not None and cfg.test_fraction is not None:
        raise DataError("give data.test (a labeled file) or data.test_fraction, not both")
    if cfg.mismatch_classes is not None:
        raise DataError("class mismatch draws its own test split: drop data.test / data.test_fraction")
    if data.X_test is not None:
        given = (
            f"data.test={cfg.test!r}" if cfg.test is not None else f"data.test_fraction={cfg.test_fraction}"
        )
        warnings.warn(
            f"{data.name!r} has its own test split ({len(data.X_test):,} examples); {given} replaces it",
            UserWarning,
            stacklevel=3,
        )
    if cfg.test is not None:
        X_test, y_test, _ = read_labeled(
            cfg.test,
            data.classes,
            data.kind,
            data.input_shape,
            label_column=cfg.label_column,
            text_column=cfg.text_column,
            columns=data.columns,
            categories=data.categories,
        )
        return replace(data, X_test=X_test, y_test=y_test).validate()
    f = cfg.test_fraction
    if not (isinstance(f, int | float) and 0 < f < 1):
        raise DataError(f"data.test_fraction must be in (0, 1), got {f!r}")
    rng = np.random.default_rng(stream(seed, "test_split"))  # independent of the label draw
    held = []
    for c in np.unique(data.y[data.y >= 0]):
        idx = np.flatnonzero(data.y == c)
        k = int(np.floor(f * len(idx) + 0.5))  # rounded half up: 0.5 of 1 example is 1
        if k >= len(idx):
            raise DataError(
                f"data.test_fraction={f} would hold out all {len(idx)} labeled examples of class "
                f"{data.classes[int(c)]!r}, leaving none to train on: lower it or label more examples"
            )
        held.append(rng.choice(idx, size=k, replace=False))
    test = np.sort(np.concatenate(held))
    if test.size == 0:
        raise DataError(
            f"data.test_fraction={f} of {data.n_labeled} labeled examples holds out none: raise it"
        )
    keep = np.setdiff1d(np.arange(len(data.y)), test)
    y_true = None if data.y_true is None else data.y_true[keep]
    return replace(
        data, X=data.X[keep], y=data.y[keep], y_true=y_true, X_test=data.X[test], y_test=data.y[test]
    ).validate()


def read_labeled(
    path: str,
    classes: list[str],
    kind: str,
    input_shape: tuple[int, ...],
    *,
    label_column: str = "label",
    text_column: str | None = None,
    columns: list[str] | None = None,
    categories: dict[str, list[str]] | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """The labeled examples of a file (or built-in) as inputs shaped like the training data, and their
    ids among ``classes``: its test split if it has one, else all its labeled rows.

    Read as the training data is (``read_data`` as ``kind``); a table's columns are matched to the training
    ``columns`` by name and its categories to the training codes (``semisup.data.inputs.match_columns``).
    Classes are matched by name (integer labels by value: label 3 is class ``"3"``).

    Returns:
        ``(X, y, source)``: ``source`` says which rows, e.g. ``"all 120 labeled rows"``.

    Raises:
        DataError: a class the training data does not have, no labeled row, or inputs of another shape.
    """
    folder = Path(path).expanduser()
    # an image folder is resized to the model's input, as `semisup predict` does (mixed sizes included)
    resize = kind == "image" and folder.is_dir() and not _is_cifar_folder(folder)
    image_size = (int(input_shape[-2]), int(input_shape[-1])) if resize else None
    data = apply_kind(read_data(path, label_column, text_column, kind, image_size), kind)
    if data.X_test is not None:
        X, y, source = data.X_test, data.y_test, f"its test split ({len(data.y_test):,} rows)"
    else:
        rows = np.flatnonzero(data.y >= 0)
        X, y = data.X[rows], data.y[rows]
        if kind == "table" and Path(path).suffix.lower() == ".csv":
            from semisup.data.columns import read_rows
            from semisup.data.inputs import match_columns

            header, cells, _ = read_rows(path)  # the rows load_csv read, in the same order
            X = match_columns(header, cells[rows], columns, categories, label_column, what=str(path))
        skipped = len(data.y) - len(rows)
        source = f"all {len(rows):,} labeled rows" + (f" ({skipped:,} unlabeled skipped)" if skipped else "")
    if len(y) == 0:
        raise DataError(f"{path} has no labeled example to score (every label is blank or -1)")
    lookup = {str(name): i for i, name in enumerate(classes)}
    unknown = sorted({data.classes[int(c)] for c in np.unique(y)} - set(lookup))
    if unknown:
        raise DataError(
            f"{path}: classes {unknown[:5]} are not among the training classes {list(classes)[:20]}; "
            "label the file with the training class names (an .npz: save classes=[...] naming its ids)"
        )
    ids = np.array([lookup.get(str(name), -1) for name in data.classes], dtype=np.int64)[y]
    if tuple(X.shape[1:]) != tuple(input_shape):
        raise DataError(
            f"{path} has inputs of shape {tuple(X.shape[1:])} per example but the training data has "
            f"{tuple(input_shape)}: they must match"
        )
    return X, ids, source
