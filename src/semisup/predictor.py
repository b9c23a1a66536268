"""Loading a trained model back from its run folder: ``semisup.load(run_dir).predict(X)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semisup.config import RunConfig
from semisup.data.dataset import DataError
from semisup.engine.checkpoint import CKPT_NAME, read_checkpoint
from semisup.engine.evaluate import predict_logits
from semisup.nets.build import build_net, with_standardize
from semisup.nets.heads import head_classifier


class Predictor:
    """A trained classifier (the EMA weights when the run kept them).

    Attributes:
        classes_: class names, in id order. config: the run's ``RunConfig``. input_shape, kind.
    """

    def __init__(
        self, model: nn.Module, config: RunConfig, meta: dict[str, Any], device: str = "cpu"
    ) -> None:
        self.model = model.to(device).eval()
        self.config = config
        self.classes_ = np.array(meta["classes"])
        self.input_shape = tuple(meta["input_shape"])
        self.kind = meta["kind"]
        self.device = torch.device(device)

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        X = np.asarray(X, dtype=np.float32)
        if self.kind == "image" and X.ndim == len(self.input_shape) and self.input_shape[0] == 1:
            X = X[:, None]  # (N, H, W) grayscale images
        if X.shape[1:] != self.input_shape:
            raise DataError(
                f"inputs have shape {X.shape[1:]} per example but the model was trained on {self.input_shape}"
            )
        if not np.isfinite(X).all():
            raise DataError("inputs hold NaN or inf; impute or drop those rows first")
        return torch.from_numpy(X).to(self.device)

    def predict_proba(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N, C) class probabilities for raw inputs (N, *input_shape)."""
        logits = predict_logits(self.model, self._tensor(X), batch_size)
        return torch.softmax(logits, dim=-1).cpu().numpy()

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(N,) predicted class names (the training data's class names, e.g. '0'..'9')."""
        return self.classes_[self.predict_proba(X, batch_size).argmax(axis=1)]

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
    path = Path(run_dir) / "checkpoints" / CKPT_NAME
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a finished run folder: {path} is missing")
    ckpt = read_checkpoint(path)
    cfg = RunConfig.from_dict(ckpt["config"])
    meta = ckpt["meta"]
    if "projection_head" in meta:
        raise ValueError(
            f"{run_dir} is a self-supervised pretraining run ({cfg.algorithm}): it has no classifier. "
            f"Fine-tune it first: semisup train --init {run_dir} ..."
        )
    if cfg.net == "custom":
        if net is None:
            raise ValueError(f"{run_dir} trained a custom net: pass an instance, load(run_dir, net=MyNet())")
    else:
        net = build_net(cfg.net, tuple(meta["input_shape"]), len(meta["classes"]), cfg.net_args)
    if "classifier_head" in meta:  # fine-tuned from the middle of a SimCLRv2 projection head
        net.classifier = head_classifier(meta["classifier_head"], len(meta["classes"]))
    model = with_standardize(net, torch.zeros((2, *meta["input_shape"])), meta["kind"])
    if use_ema and "ema" in ckpt:  # the EMA wrapper keeps the model under ``module.``
        state = {_strip(k[len("module.") :]): v for k, v in ckpt["ema"].items() if k.startswith("module.")}
    else:
        state = {_strip(k): v for k, v in ckpt["model"].items()}
    model.load_state_dict(state)
    return Predictor(model, cfg, meta, device)


def _strip(key: str) -> str:
    # torch.compile keeps the model under ``_orig_mod.``.
    return key[len("_orig_mod.") :] if key.startswith("_orig_mod.") else key
