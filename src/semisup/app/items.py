"""What the labeling app shows and learns from: the items of a data set, with stable ids.

``load_items`` reads any input ``semisup`` reads (a built-in name, ``.npz``, ``.csv``, an image folder, a
CIFAR folder) and, with ``text_column``, a CSV of texts. Each item gets

- an id that survives restarts: the file's path relative to the data root for image folders, the row
  number (0-based, data rows only) for tables and arrays, or the ``id_column`` value for text CSVs;
- a display: an image (served as PNG from the arrays, or the original file of an image folder), a text,
  or a table row (column name -> value);
- a feature vector for the fast model: pixels (image folders resized to 32x32), table values, or TF-IDF
  reduced to 64 dimensions by truncated SVD for texts.

Labels already in a user's file are kept as seed labels (the model trains on them, the queue skips those
items); the labels of built-in data sets are hidden, so every item is there to label.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from semisup.data.dataset import UNLABELED, DataError, validate_arrays
from semisup.data.files import IMAGE_EXTENSIONS, _is_gray, _read_image
from semisup.data.load import read_data
from semisup.registry import DATASETS

__all__ = ["Items", "load_items"]

FEATURE_SIDE = 32  # image folders: features are the pixels at FEATURE_SIDE x FEATURE_SIDE
MAX_COLUMNS = 50  # table rows: at most this many values shown


@dataclass
class Items:
    """The items of one data set, in data order.

    Attributes:
        ids: N stable item ids.
        kind: ``"image"``, ``"text"`` or ``"table"``.
        classes: the class names labels must use.
        features: (N, D) float32 inputs of the fast model.
        seed_labels: (N,) int64 class ids given by the data (-1 = none).
        name: the data set's name.
        inputs: (N, ...) the data set's own inputs (what a trained run's model predicts from), or None.
        root: the folder files are served from (image folders), else None.
        files: per item, its file relative to ``root`` (image folders), else None.
        texts: per item, its text (text CSVs), else None.
        columns: table column names (tables), else None.
    """

    ids: list[str]
    kind: str
    classes: list[str]
    features: np.ndarray
    seed_labels: np.ndarray
    name: str
    inputs: np.ndarray | None = None
    root: Path | None = None
    files: list[str] | None = None
    texts: list[str] | None = None
    columns: list[str] | None = None
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {i: k for k, i in enumerate(self.ids)}
        if len(self._index) != len(self.ids):
            raise DataError(f"item ids must be unique; {len(self.ids) - len(self._index)} are repeated")

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, item_id: str) -> int:
        """Position of ``item_id``; ``KeyError`` when it is not an item."""
        return self._index[item_id]

    def file_of(self, rel: str) -> Path | None:
        """The file an image-folder item ``rel`` lives in, resolved inside ``root``; else None."""
        if self.root is None or self.files is None or rel not in self._index:
            return None
        path = (self.root / rel).resolve()
        return path if path.is_relative_to(self.root) and path.is_file() else None

    def payload(self, k: int) -> dict:
        """The JSON the page shows for item ``k``."""
        from urllib.parse import quote

        out: dict = {"id": self.ids[k], "kind": self.kind}
        if self.kind == "image":
            out["image_url"] = (
                "/files/" + quote(self.files[k]) if self.files else "/api/image?id=" + quote(self.ids[k])
            )
        elif self.kind == "text":
            out["text"] = self.texts[k]
        else:
            values = self.inputs[k] if self.inputs is not None else self.features[k]
            out["features"] = [
                [c, float(v)] for c, v in zip(self.columns, values[:MAX_COLUMNS], strict=False)
            ]
        return out

    def png(self, k: int) -> bytes:
        """Item ``k``'s image array (C, H, W) in [0, 1] as PNG bytes."""
        from PIL import Image

        x = np.asarray(self.inputs[k])
        pix = np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)
        im = Image.fromarray(pix[0]) if pix.shape[0] == 1 else Image.fromarray(pix.transpose(1, 2, 0))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        return buf.getvalue()


def _class_list(found: list[str], given: list[str] | None, what: str) -> list[str]:
    if given is None:
        if len(found) < 2:
            raise DataError(f"{what} names fewer than two classes ({found}); pass --classes a,b,c")
        return found
    missing = [c for c in found if c not in given]
    if missing:
        raise DataError(f"{what} has labels {missing} that are not among --classes {given}; add them")
    return given


def _seed(y: np.ndarray, found: list[str], classes: list[str]) -> np.ndarray:
    ids = np.array([classes.index(c) for c in found] + [UNLABELED], dtype=np.int64)
    return ids[np.where(y >= 0, y, len(found))]


def load_items(
    data: str,
    classes: list[str] | None = None,
    text_column: str | None = None,
    label_column: str = "label",
    id_column: str | None = None,
) -> Items:
    """The items of ``data`` (see the module docstring). ``classes`` overrides the data's class names.

    Raises:
        DataError: unreadable data, no class names, labels outside ``classes``; the message says the fix.
    """
    if text_column is not None:
        return _text_items(Path(data), text_column, label_column, id_column, classes)
    path = Path(data).expanduser()
    if data not in DATASETS and path.is_dir() and not _is_cifar(path):
        return _folder_items(path, classes)
    ds = read_data(data, label_column=label_column)
    validate_arrays(ds.X, ds.y, max(ds.num_classes, 1), what=ds.name)
    builtin = data in DATASETS
    cls = _class_list(list(ds.classes), classes, ds.name)
    seed = np.full(len(ds.X), UNLABELED) if builtin else _seed(ds.y, list(ds.classes), cls)
    ids = [str(i) for i in range(len(ds.X))]
    if ds.kind == "image":
        feats = ds.X.reshape(len(ds.X), -1)
        return Items(ids, "image", cls, feats, seed, ds.name, inputs=ds.X)
    columns = _csv_columns(path, label_column) if path.suffix.lower() == ".csv" else None
    columns = columns or [f"x{j}" for j in range(ds.X.shape[1])]
    return Items(ids, "table", cls, ds.X, seed, ds.name, inputs=ds.X, columns=columns)


def _is_cifar(path: Path) -> bool:
    return any((path / f).is_file() for f in ("data_batch_1", "meta")) or any(
        (path / s).is_dir() for s in ("cifar-10-batches-py", "cifar-100-python")
    )


def _csv_columns(path: Path, label_column: str) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    return [h.strip() for h in header if h.strip() != label_column]


def _folder_items(root: Path, classes: list[str] | None) -> Items:
    """``root/<class>/*`` (labeled), ``root/unlabeled/*``, or, without class folders, every image below
    ``root``; ``root/test/`` is left out. Ids are paths relative to ``root``."""
    root = root.resolve()
    subdirs = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    found = [d for d in subdirs if d not in ("unlabeled", "test")]
    groups = [(root / c, i) for i, c in enumerate(found)] + [(root / "unlabeled", UNLABELED)]
    if not found:
        groups = [(root, UNLABELED)]
    files: list[Path] = []
    labels: list[int] = []
    for folder, label in groups:
        got = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
            and p.relative_to(root).parts[0] != "test"
        )  # fmt: skip
        files += got
        labels += [label] * len(got)
    if not files:
        raise DataError(f"{root} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    images = [_read_image(p) for p in files]
    mode = "L" if all(_is_gray(im) for im in images) else "RGB"
    side = (FEATURE_SIDE, FEATURE_SIDE)
    X = np.stack([np.asarray(im.convert(mode).resize(side, resample=2), dtype=np.float32) for im in images])
    cls = _class_list(found, classes, str(root))
    rel = [p.relative_to(root).as_posix() for p in files]
    seed = _seed(np.array(labels, dtype=np.int64), found, cls)
    return Items(rel, "image", cls, X.reshape(len(X), -1) / 255.0, seed, root.name, root=root, files=rel)


def _text_items(
    path: Path, text_column: str, label_column: str, id_column: str | None, classes: list[str] | None
) -> Items:
    """A CSV with a text column; optional label column (class names, blank = unlabeled) and id column."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if not path.is_file():
        raise DataError(f"no file {str(path)!r}: --text-column needs a CSV file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DataError(f"{path} has no data rows")
    for col in (text_column, id_column):
        if col is not None and col not in rows[0]:
            raise DataError(f"{path} has no column {col!r}; its columns are {list(rows[0])}")
    texts = [r[text_column] or "" for r in rows]
    ids = [r[id_column] for r in rows] if id_column else [str(i) for i in range(len(rows))]
    raw = [(r.get(label_column) or "").strip() for r in rows]
    raw = ["" if v == "-1" else v for v in raw]
    found = sorted({v for v in raw if v})
    cls = _class_list(found, classes, str(path))
    seed = np.array([cls.index(v) if v else UNLABELED for v in raw], dtype=np.int64)
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(texts)
    k = min(64, tfidf.shape[1] - 1, len(texts) - 1)
    dense = TruncatedSVD(k, random_state=0).fit_transform(tfidf) if k >= 2 else tfidf.toarray()
    feats = normalize(dense).astype(np.float32)
    return Items(ids, "text", cls, feats, seed, path.stem, texts=texts)
