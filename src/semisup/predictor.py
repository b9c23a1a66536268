"""Loading a trained model back from its run folder: ``semisup.load(run_dir).predict(X)``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semisup.config import RunConfig
from semisup.data.inputs import frame_cells, match_columns, read_inputs, to_model_inputs
from semisup.engine.evaluate import predict_logits
from semisup.engine.open_set import logits_and_unknown_score
from semisup.engine.runs import RunFolderError, read_classifier, rebuild_model
from semisup.nets.open_set_head import UNKNOWN_THRESHOLD, find_open_set_head

# What ``predict`` returns for an input an open-set model calls unknown (integer / named classes).
UNKNOWN_ID, UNKNOWN_NAME = -1, "unknown"


def class_labels(names: list[str]) -> np.ndarray:
    """The labels ``predict`` returns: ints when every class name is an integer written plainly ("0",
    "7", "-2": the user's labels were integers, so ``(pred == y).mean()`` works), else the names."""
    plain = all(isinstance(c, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", c) for c in names)
    return np.array([int(c) for c in names], dtype=np.int64) if plain and names else np.array(names)


class Predictor:
    """A trained classifier (the EMA weights when the run kept them).

    Inputs go through ``semisup.data.inputs.to_model_inputs``, the conversion ``semisup predict`` applies
    to files (uint8 images -> [0, 1], (N, L) signals -> (N, 1, L)); a pandas DataFrame for a table is
    matched to the training columns by name, as a CSV is (an array's columns are taken in ``columns`` order,
    categorical ones as codes, NaN = missing).

    Attributes:
        classes_: the labels, in id order: ints for integer class names, else strings (``class_labels``).
        config: the run's ``RunConfig``. input_shape, kind. columns, categories: a table's training
        feature names and category values (None otherwise).
    """

    def __init__(
        self, model: nn.Module, config: RunConfig, meta: dict[str, Any], device: str = "cpu"
    ) -> None:
        self.model = model.to(device).eval()
        self.config = config
        self.classes_ = class_labels(list(meta["classes"]))
        self.input_shape = tuple(meta["input_shape"])
        self.kind = meta["kind"]
        self.columns: list[str] | None = meta.get("columns")
        self.categories: dict[str, list[str]] | None = meta.get("categories")
        self.label_column = config.data.label_column
        self.text_column = config.data.text_column
        self.device = torch.device(device)

    def inputs(self, X: Any) -> np.ndarray:
        """``X`` as the model takes it: float32 (N, *input_shape) (see ``to_model_inputs``)."""
        if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a DataFrame: columns matched by name
            header, cells = frame_cells(X)
            X = match_columns(header, cells, self.columns, self.categories, self.label_column, "DataFrame")
        return to_model_inputs(X, self.input_shape, self.kind)

    def read(self, path: str | Path) -> tuple[np.ndarray, list[str]]:
        """The inputs in a .npz, .csv or image folder and a name per row, as ``semisup predict`` reads
        them (CSV columns matched by name; a text run embeds the CSV's text column, cached)."""
        text_column = getattr(self, "text_column", None)
        if self.kind == "text" and text_column and Path(path).suffix.lower() == ".csv":
            from semisup.text import embed_texts, read_texts

            texts, _ = read_texts(path, text_column)
            X, _ = embed_texts(texts)
            return self.inputs(X), [str(i) for i in range(len(texts))]
        return read_inputs(
            path, self.input_shape, self.kind, self.label_column, self.columns, self.categories
        )

    def _tensor(self, X: Any) -> torch.Tensor:
        return torch.from_numpy(self.inputs(X)).to(self.device)

    def predict_proba(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N, C) class probabilities for raw inputs (N, *input_shape)."""
        logits = predict_logits(self.model, self._tensor(X), batch_size)
        return torch.softmax(logits, dim=-1).cpu().numpy()

    @property
    def open_set(self) -> bool:
        """Whether the model has an open-set detector (trained by ``openmatch`` or ``iomatch``)."""
        return find_open_set_head(self.model) is not None

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N,) predicted labels, of the type of the training labels (``classes_``).

        A model with an open-set detector (``open_set``) predicts "unknown" where
        ``predict_unknown_score`` exceeds ``UNKNOWN_THRESHOLD`` (0.5): ``UNKNOWN_ID`` (-1) for integer
        classes, ``UNKNOWN_NAME`` ("unknown") for named ones. Other models always predict a class.
        """
        if not self.open_set:
            return self.classes_[self.predict_proba(X, batch_size).argmax(axis=1)]
        logits, score = logits_and_unknown_score(self.model, self._tensor(X), batch_size)
        pred = self.classes_[logits.argmax(dim=1).cpu().numpy()]
        unknown = (score > UNKNOWN_THRESHOLD).cpu().numpy()
        if pred.dtype.kind in "iu":
            return np.where(unknown, UNKNOWN_ID, pred)
        return np.where(unknown, UNKNOWN_NAME, pred.astype(object)).astype(str)

    def predict_unknown_score(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N,) score in [0, 1] that each input is of none of the training classes.

        With an open-set detector: OpenMatch's one-vs-all outlier probability of the predicted class, or
        IOMatch's open-set classifier's probability of its "outlier" class; ``predict`` says unknown
        above 0.5. Any other model: 1 − max softmax probability (a baseline; ``predict`` ignores it).
        """
        return logits_and_unknown_score(self.model, self._tensor(X), batch_size)[1].cpu().numpy()

    def predict_ids(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N,) predicted class ids."""
        return self.predict_proba(X, batch_size).argmax(axis=1)


def load(
    run_dir: str | Path, net: nn.Module | None = None, device: str = "cpu", use_ema: bool = True
) -> Predictor:
    """Rebuild the trained model of ``run_dir`` from its checkpoint.

    Args:
        net: required only if the run trained a user-supplied module (``net: custom``): an untrained
            instance of the same architecture.
    """
    from semisup.auto.run import CLASSIC_META, load_classic  # imports this module: here, not at the top

    if (Path(run_dir) / CLASSIC_META).is_file():  # `--algorithm auto` chose a classic method
        return load_classic(run_dir)  # type: ignore[return-value]  (same predict API)
    cfg, meta, state = read_classifier(run_dir, use_ema)
    if cfg.net == "custom" and net is None:
        raise RunFolderError(f"{run_dir} trained a custom net: pass an instance, load(run_dir, net=MyNet())")
    model = rebuild_model(cfg, meta, state, net)  # the net, its heads (checkpoint meta) and the weights
    return Predictor(model, cfg, meta, device)
