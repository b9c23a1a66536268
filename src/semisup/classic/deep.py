"""Deep semi-supervised learning as a scikit-learn estimator: the CLI's engine behind ``fit``/``predict``.

:class:`DeepSSLClassifier` turns numpy arrays (``y == -1`` = unlabeled, any labels, strings included)
into an :class:`~semisup.data.SSLDataset` and a :class:`~semisup.config.RunConfig`, and trains with
:func:`semisup.fit`, exactly the code path of ``semisup train``; ``predict`` runs the trained model (the
EMA weights when the run kept them), as :func:`semisup.load` does. Inputs are

- vectors ``(N, D)`` (``kind="vector"``: MLP by default, the vector views: Gaussian noise as the weak
  view, feature masking/swapping as the strong one), or
- images ``(N, C, H, W)``, or flat rows with ``image_shape=(C, H, W)`` (``kind="image"``: CNN by default,
  flips/translations and RandAugment + cutout), which lets an image model sit in a ``Pipeline`` of 2-D
  arrays.

Example:
    >>> from sklearn.datasets import make_moons
    >>> X, y = make_moons(500, noise=0.1, random_state=0)
    >>> y_partial = y.copy(); y_partial[8:] = -1
    >>> clf = DeepSSLClassifier("fixmatch", steps=200, random_state=0).fit(X, y_partial)  # doctest: +SKIP
    >>> clf.score(X, y)                                                                   # doctest: +SKIP

Complexity: ``steps`` optimiser steps of ``batch_size * (1 + 2 mu)`` forward passes (FixMatch); memory
``O(N)`` for the data plus the net.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from semisup.classic._validation import HasMethods, Interval, encode_partial_labels, validate_params

__all__ = ["DeepSSLClassifier", "FixMatchClassifier", "MeanTeacherClassifier"]


class DeepSSLClassifier(ClassifierMixin, BaseEstimator):
    """Any registered deep SSL algorithm (``semisup list``) trained on numpy arrays.

    Parameters:
        algorithm (str, default="fixmatch"): ``"auto"`` (cross-validated choice among supervised, classic
            and deep SSL: ``semisup.auto``; ``auto_`` then holds the choice and the reason) or a registered
            algorithm name (``fixmatch``, ``mean_teacher``,
            ``flexmatch``, ``mixmatch``, ``uda``, ``vat``, ``pseudo_label``, ``pi_model``, ``supervised``...).
        net (str, default="auto"): a registered net (``mlp``, ``cnn``, ``wrn28_2``); ``auto`` picks ``mlp``
            for vectors and ``cnn`` for images.
        steps (int >= 1, default=1000): optimiser steps.
        batch_size (int >= 1, default=64): labeled examples per step (B).
        mu (int >= 1 or None, default=None): unlabeled examples per labeled one (μ); None: the algorithm's
            paper ratio (7 for FixMatch, 1 for mean teacher).
        lr (float > 0, default=0.03): learning rate (SGD with Nesterov momentum, cosine decay).
        image_shape (tuple (C, H, W) or None, default=None): reshape flat rows into images.
        algorithm_params (dict or None): the algorithm's ``Config`` fields (e.g. ``{"threshold": 0.9}``).
        net_params (dict or None): the net's ``Config`` fields (e.g. ``{"width": 16}``).
        config (dict or None): any other ``RunConfig`` sections, e.g. ``{"augment": {"noise_std": 0.05},
            "train": {"ema_decay": 0.99}, "fabric": {"accelerator": "cuda"}}``; unknown keys raise.
        out (str or None, default=None): keep the run folder (``config.yaml``, ``metrics.csv``,
            ``summary.json``, checkpoint) here; ``None`` trains in a temporary folder that is removed.
        verbose (bool, default=False): show the progress bar.
        random_state (int, RandomState or None, default=None): seed of the run (initialisation, batches,
            views).

    Fitted attributes:
        classes_ (ndarray (C,)): the labels, ``-1`` excluded.
        n_features_in_ (int): features (columns) seen in ``fit``.
        input_shape_ (tuple): the shape of one example as the net sees it.
        kind_ (str): ``"vector"`` or ``"image"``.
        algorithm_ (str): the algorithm that trained (``"supervised"`` when ``y`` had no ``-1``).
        config_ (RunConfig): the resolved config of the run.
        summary_ (dict): the run's ``summary.json``.
        model_ (torch.nn.Module): the trained model (input standardisation included), in eval mode, in
            float64 (so predictions do not depend on how rows are batched).
        n_iter_ (int): optimiser steps taken.

    Raises (in ``fit``):
        InvalidParameterError: a parameter outside its constraints.
        ConfigError: an unknown ``algorithm_params``/``net_params``/``config`` key.
        DataError / ValueError: fewer than two labeled classes, NaN inputs, non-class targets.
    """

    _parameter_constraints: dict = {
        "algorithm": [str],
        "net": [str],
        "steps": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "mu": [Interval(int, 1, None), None],
        "lr": [Interval(float, 0, None, closed="neither")],
        "image_shape": [tuple, list, None],
        "algorithm_params": [dict, None],
        "net_params": [dict, None],
        "config": [dict, None],
        "out": [str, Path, None],
        "verbose": [bool],
        "random_state": [Interval(int, 0, None), HasMethods(("randint",)), None],
    }

    def __init__(
        self,
        algorithm="fixmatch",
        net="auto",
        *,
        steps=1000,
        batch_size=64,
        mu=None,
        lr=0.03,
        image_shape=None,
        algorithm_params=None,
        net_params=None,
        config=None,
        out=None,
        verbose=False,
        random_state=None,
    ):
        self.algorithm = algorithm
        self.net = net
        self.steps = steps
        self.batch_size = batch_size
        self.mu = mu
        self.lr = lr
        self.image_shape = image_shape
        self.algorithm_params = algorithm_params
        self.net_params = net_params
        self.config = config
        self.out = out
        self.verbose = verbose
        self.random_state = random_state

    # ---- input handling -----------------------------------------------------------------------
    def _as_examples(self, X: np.ndarray) -> np.ndarray:
        """``X`` as the engine's examples: ``(N, D)`` vectors or ``(N, C, H, W)`` images, float32."""
        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if len(shape) != 3 or int(np.prod(shape)) != int(np.prod(X.shape[1:])):
                raise ValueError(
                    f"image_shape {shape} must be (C, H, W) with C*H*W = {int(np.prod(X.shape[1:]))} "
                    f"(the features per row of X)"
                )
            return X.reshape(len(X), *shape)
        if X.ndim == 3:  # (N, H, W) grayscale
            return X[:, None]
        if X.ndim not in (2, 4):
            raise ValueError(f"X must be (N, D) vectors or (N, C, H, W) images, got shape {X.shape}")
        return X

    def _run_config(self, algorithm: str, seed: int):
        from semisup.config import RunConfig

        return RunConfig.from_dict(self._run_dict(algorithm, seed))

    def _run_dict(self, algorithm: str, seed: int) -> dict:
        extra = {k: dict(v) if isinstance(v, dict) else v for k, v in (self.config or {}).items()}
        data = {"name": "array", "labels_per_class": None, "batch_size": self.batch_size, "mu": self.mu}
        data.update(extra.pop("data", {}))
        train = {"steps": self.steps, "eval_every": self.steps, "checkpoint_every": self.steps}
        train.update({"log_every": max(1, min(25, self.steps)), "progress": self.verbose})
        train.update(extra.pop("train", {}))
        optim = {"lr": self.lr, **extra.pop("optim", {})}
        # the algorithm's own parameters do not apply to the supervised fallback
        params = (self.algorithm_params or {}) if algorithm == self.algorithm else {}
        algo = {"name": algorithm, **params}
        # "auto" resolved here as the engine would (mlp for vectors, cnn for images), so net_params apply
        name = self.net if self.net != "auto" else {"vector": "mlp", "image": "cnn"}[self.kind_]
        net = {"name": name, **(self.net_params or {})}
        sections = {"algorithm": algo, "net": net, "data": data, "train": train, "optim": optim}
        if algorithm == "auto":  # auto chooses the algorithm (each with its paper defaults)
            del sections["algorithm"]
        return {**sections, "seed": seed, **extra}

    # ---- estimator API ------------------------------------------------------------------------
    def fit(self, X, y):
        """Train on ``X`` with partial labels ``y`` (``-1`` = unlabeled). Returns self."""
        import semisup
        from semisup.data.dataset import SSLDataset

        validate_params(self.get_params(deep=False), self._parameter_constraints, type(self).__name__)
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float32, y_numeric=False)
        self.classes_, y_index = encode_partial_labels(y)
        labeled = y_index >= 0
        if not labeled.any():
            raise ValueError("y has no labeled sample (every entry is -1)")
        check_classification_targets(np.asarray(y)[labeled])
        examples = self._as_examples(X)
        self.kind_ = "image" if examples.ndim == 4 else "vector"
        self.input_shape_ = tuple(examples.shape[1:])

        self.algorithm_ = self.algorithm
        if labeled.all() and self.algorithm != "supervised":
            warnings.warn(
                f"y has no unlabeled sample (no -1): {self.algorithm} needs unlabeled data, training "
                "'supervised' on the labels instead",
                UserWarning,
                stacklevel=2,
            )
            self.algorithm_ = "supervised"
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if isinstance(self.random_state, int):
            seed = self.random_state
        auto = self.algorithm_ == "auto"
        self.config_ = self._run_dict("auto", seed) if auto else self._run_config(self.algorithm_, seed)
        data = SSLDataset(
            X=np.ascontiguousarray(examples),
            y=y_index,
            classes=[str(c) for c in self.classes_],
            kind=self.kind_,
            name="array",
        )
        run_dir = Path(self.out) if self.out is not None else Path(tempfile.mkdtemp(prefix="semisup-"))
        try:
            if auto:
                from semisup.auto import auto_fit

                result = auto_fit(self.config_, run_dir, data=data, verbose=self.verbose)
                self.auto_ = result.summary["auto"]
            else:
                result = semisup.fit(self.config_, run_dir, data=data)
            loaded = semisup.load(run_dir)
            # float64 for prediction: a row's probabilities then do not depend on the batch it comes in
            self.model_ = loaded.model.double() if hasattr(loaded, "model") else loaded
        finally:
            if self.out is None:
                shutil.rmtree(run_dir, ignore_errors=True)
        self.summary_ = result.summary
        self.n_iter_ = int(result.summary.get("steps", self.steps))
        return self

    def predict_proba(self, X) -> np.ndarray:
        """``(n_samples, n_classes)`` class probabilities, columns ordered as ``classes_``."""
        import torch

        from semisup.engine.evaluate import predict_logits

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float64)
        examples = np.ascontiguousarray(self._as_examples(X))
        if examples.shape[1:] != self.input_shape_:
            raise ValueError(f"X has examples of shape {examples.shape[1:]}, fit saw {self.input_shape_}")
        if not isinstance(self.model_, torch.nn.Module):  # auto chose a classic method
            return self.model_.predict_proba(examples.astype(np.float32))
        logits = predict_logits(self.model_, torch.from_numpy(examples), 1024)
        return torch.softmax(logits, dim=-1).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """``(n_samples,)`` most probable labels (values of ``classes_``)."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class _FixedAlgorithm(DeepSSLClassifier):
    """A :class:`DeepSSLClassifier` whose ``algorithm`` is a class attribute, not a parameter."""

    algorithm = "fixmatch"

    def __init__(
        self,
        net="auto",
        *,
        steps=1000,
        batch_size=64,
        mu=None,
        lr=0.03,
        image_shape=None,
        algorithm_params=None,
        net_params=None,
        config=None,
        out=None,
        verbose=False,
        random_state=None,
    ):
        self.net = net
        self.steps = steps
        self.batch_size = batch_size
        self.mu = mu
        self.lr = lr
        self.image_shape = image_shape
        self.algorithm_params = algorithm_params
        self.net_params = net_params
        self.config = config
        self.out = out
        self.verbose = verbose
        self.random_state = random_state


class FixMatchClassifier(_FixedAlgorithm):
    """:class:`DeepSSLClassifier` with ``algorithm="fixmatch"`` (Sohn et al., NeurIPS 2020)."""

    algorithm = "fixmatch"


class MeanTeacherClassifier(_FixedAlgorithm):
    """:class:`DeepSSLClassifier` with ``algorithm="mean_teacher"`` (Tarvainen & Valpola, NeurIPS 2017)."""

    algorithm = "mean_teacher"
