"""``load_dataset``: a built-in name or a path -> a validated ``SSLDataset`` with the chosen labels."""

from __future__ import annotations

from pathlib import Path

from semisup.config import DataConfig
from semisup.data import builtin  # noqa: F401  (registers the built-in data sets)
from semisup.data.builtin import dataset_info
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.files import load_cifar_python, load_csv, load_image_folder, load_npz
from semisup.data.kinds import apply_kind
from semisup.data.mismatch import class_mismatch
from semisup.data.split import select_labeled
from semisup.registry import DATASETS, UnknownNameError, unknown_name_message

__all__ = ["UnknownDatasetError", "dataset_info", "load_dataset", "read_data"]


class UnknownDatasetError(UnknownNameError, DataError):
    """Neither a built-in data set nor an existing path; the message suggests the closest names."""


def read_data(name: str, label_column: str = "label") -> SSLDataset:
    """The data set behind ``name`` as stored: a built-in, a ``.npz``/``.csv`` file or a folder.

    A folder holding ``data_batch_1`` (or ``train`` and ``meta``) is read as CIFAR python pickles; any
    other folder as an image folder (one sub-folder per class).
    """
    if name in DATASETS:
        return DATASETS.get(name)()
    path = Path(name).expanduser()
    if not path.exists():
        raise UnknownDatasetError(
            unknown_name_message("data set", name, DATASETS.names()).rstrip(".")
            + f", or a path to a .npz, .csv or image folder (no file or folder {str(path)!r} exists)."
        )
    if path.is_dir():
        cifar = (path / "data_batch_1").is_file() or (path / "train").is_file() and (path / "meta").is_file()
        nested = any((path / sub).is_dir() for sub in ("cifar-10-batches-py", "cifar-100-python"))
        return load_cifar_python(path) if cifar or nested else load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path)
    if suffix == ".csv":
        return load_csv(path, label_column=label_column)
    raise DataError(f"cannot read {str(path)!r}: give a .npz file, a .csv file or an image folder")


def load_dataset(cfg: DataConfig, seed: int) -> SSLDataset:
    """Read ``cfg.name`` and keep ``cfg.labels_per_class`` (or ``cfg.label_fraction``) labels per class.

    The labeled examples are drawn with ``cfg.split_seed`` (the run's ``seed`` when ``None``), stratified
    and deterministic; with both ``None`` the labels in the data are kept (``-1`` = unlabeled). The true
    labels of the examples made unlabeled stay in ``y_true``.

    Raises:
        UnknownDatasetError: ``cfg.name`` is neither a built-in nor an existing path.
        DataError: the data or the label selection is invalid; the message names the fix.
    """
    data = apply_kind(read_data(cfg.name, label_column=cfg.label_column), cfg.kind).validate()
    split_seed = cfg.split_seed if cfg.split_seed is not None else seed
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
