"""Learners for the active-learning loop: one ``fit(X, y)`` / ``predict_proba(X)`` contract for all models.

``y`` is the whole pool's label vector with ``-1`` for the items nobody labeled yet, so a semi-supervised
learner can use them (AL x SSL) and a supervised one drops them.

- :class:`SklearnLearner` wraps any scikit-learn classifier with ``predict_proba``. Semi-supervised
  estimators (``semisup.classic`` and ``sklearn.semi_supervised``, which read ``y == -1``) get the whole
  pool; a supervised one gets the labeled rows, or with ``ssl=True`` is wrapped in
  :class:`semisup.classic.SelfTrainingClassifier` and self-trains on the unlabeled rest.
- :class:`DeepRunLearner` trains a deep semisup run (``semisup.fit``) on the pool each round and predicts
  with the trained network; ``predict_mc_proba`` gives MC-dropout samples for BALD.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from sklearn.base import clone

__all__ = ["DeepRunLearner", "Learner", "SklearnLearner", "as_learner", "is_semi_supervised"]


@runtime_checkable
class Learner(Protocol):
    """What the loop needs: fit on the pool's labels (``-1`` = unlabeled) and class probabilities."""

    classes_: np.ndarray

    def fit(self, X: Any, y: np.ndarray) -> Learner: ...

    def predict_proba(self, X: Any) -> np.ndarray: ...


def is_semi_supervised(estimator: Any) -> bool:
    """Whether ``estimator`` reads ``y == -1`` as unlabeled (semisup.classic, sklearn.semi_supervised)."""
    module = type(estimator).__module__
    return module.startswith(("semisup.classic", "sklearn.semi_supervised"))


def _take(X: Any, idx: np.ndarray) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if hasattr(X, "shape"):
        return X[idx]
    return [X[i] for i in idx]


class SklearnLearner:
    """A scikit-learn classifier as an active-learning learner; cloned afresh on every ``fit``.

    Args:
        estimator: a classifier with ``fit`` and ``predict_proba``; semi-supervised estimators (see
            :func:`is_semi_supervised`) are fitted on the whole pool with ``-1`` labels.
        ssl: for a supervised estimator, ``True`` wraps it in ``SelfTrainingClassifier`` so it also
            learns from the unlabeled pool; ignored for a semi-supervised estimator.
        self_training: keyword arguments of ``SelfTrainingClassifier`` (default: ``threshold=0.9``).
        semi_supervised: whether ``estimator`` itself reads ``y == -1`` (e.g. a ``Pipeline`` ending in
            ``LabelSpreading``); ``None`` decides by :func:`is_semi_supervised`.

    Fitted attributes:
        estimator_: the fitted (possibly wrapped) estimator. classes_: its classes.
    """

    def __init__(
        self,
        estimator: Any,
        ssl: bool = False,
        self_training: dict | None = None,
        semi_supervised: bool | None = None,
    ) -> None:
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
            raise TypeError(
                f"{type(estimator).__name__} has no fit/predict_proba: active learning needs class "
                "probabilities (for SVC pass probability=True)"
            )
        self.estimator = estimator
        self.ssl = ssl
        self.self_training = self_training
        self._reads_unlabeled = is_semi_supervised(estimator) if semi_supervised is None else semi_supervised

    @property
    def semi_supervised(self) -> bool:
        """Whether fits see the unlabeled pool."""
        return self._reads_unlabeled or self.ssl

    def fit(self, X: Any, y: np.ndarray) -> SklearnLearner:
        y = np.asarray(y)
        if self._reads_unlabeled:
            self.estimator_ = clone(self.estimator).fit(X, y)
        elif self.ssl:
            from semisup.classic import SelfTrainingClassifier

            kw = {"threshold": 0.9} if self.self_training is None else dict(self.self_training)
            self.estimator_ = SelfTrainingClassifier(clone(self.estimator), **kw).fit(X, y)
        else:
            idx = np.flatnonzero(y != -1)
            self.estimator_ = clone(self.estimator).fit(_take(X, idx), y[idx])
        self.classes_ = np.asarray(self.estimator_.classes_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class DeepRunLearner:
    """A deep semisup run (``semisup.fit``) retrained from scratch on the pool every round.

    Args:
        config: a ``RunConfig`` or its dict (``algorithm``, ``net``, ``train.steps``, ...). Its ``data``
            section only contributes batch sizes; the data is the pool. ``train.progress`` is turned off.
        n_classes: number of classes; labels are ids ``0..n_classes-1``.
        kind: ``"vector"`` for ``(N, D)`` inputs, ``"image"`` for ``(N, C, H, W)``.
        out_dir: keep each round's run folder as ``out_dir/round_<k>``; ``None`` uses a temporary folder
            that is deleted once the model is loaded.
        mc_samples: forward passes of :meth:`predict_mc_proba` (BALD).

    A semi-supervised algorithm needs unlabeled rows (``-1``); once the pool is fully labeled use
    ``algorithm: supervised``. Training takes ``train.steps`` steps each round.
    """

    def __init__(
        self,
        config: Any,
        n_classes: int,
        kind: str = "vector",
        out_dir: str | Path | None = None,
        mc_samples: int = 20,
    ) -> None:
        from semisup.config import RunConfig

        self.config = config if isinstance(config, RunConfig) else RunConfig.from_dict(dict(config))
        self.config.train.progress = False
        self.n_classes = n_classes
        self.kind = kind
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.mc_samples = mc_samples
        self.round_ = 0
        self.classes_ = np.arange(n_classes)

    def fit(self, X: np.ndarray, y: np.ndarray) -> DeepRunLearner:
        from semisup.data.dataset import SSLDataset
        from semisup.predictor import load
        from semisup.run import fit

        data = SSLDataset(
            X=np.asarray(X, dtype=np.float32),
            y=np.asarray(y, dtype=np.int64),
            classes=[str(c) for c in range(self.n_classes)],
            kind=self.kind,
            name="active-pool",
        )
        tmp = None
        if self.out_dir is None:
            tmp = tempfile.mkdtemp(prefix="semisup-active-")
            run_dir = Path(tmp) / "run"
        else:
            run_dir = self.out_dir / f"round_{self.round_}"
        try:
            fit(self.config, run_dir, data=data)
            self.predictor_ = load(run_dir)
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        self.round_ += 1
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.predictor_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def predict_mc_proba(self, X: np.ndarray, n_samples: int | None = None) -> np.ndarray:
        """``(T, N, C)`` probabilities of ``T`` forward passes with dropout on (Gal et al., ICML 2017).

        Raises:
            ValueError: the network has no dropout layer (every pass would be identical).
        """
        import torch

        model = self.predictor_.model
        drops = [m for m in model.modules() if isinstance(m, torch.nn.Dropout) and m.p > 0]
        if not drops:
            raise ValueError("MC dropout needs a net with dropout > 0 (e.g. net: {name: mlp, dropout: 0.2})")
        x = self.predictor_._tensor(X)
        model.eval()
        for m in drops:
            m.train()  # dropout on, everything else (batch norm) in eval mode
        try:
            with torch.no_grad():
                out = [torch.softmax(model(x), -1).cpu().numpy() for _ in range(n_samples or self.mc_samples)]
        finally:
            model.eval()
        return np.stack(out)


def as_learner(model: Any, ssl: bool = False) -> Any:
    """A scikit-learn estimator (anything with ``get_params``) wrapped in :class:`SklearnLearner`;
    any other object (a :class:`DeepRunLearner`, your own learner) is returned as it is."""
    if hasattr(model, "get_params"):
        return SklearnLearner(model, ssl=ssl)
    if not (hasattr(model, "fit") and hasattr(model, "predict_proba")):
        raise TypeError(f"{type(model).__name__} is not a learner: it needs fit(X, y) and predict_proba(X)")
    return model
