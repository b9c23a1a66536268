"""The model behind the suggestions: refitted in a background thread, or a trained run's predictor.

``Suggester`` keeps one immutable ``ModelState`` (version, class probabilities of every item). With
``retrain=True`` a daemon thread refits a fast semi-supervised model every ``every`` new labels, on all
items: the human labels, the data's seed labels, and every other item as unlabeled. The default model is
:class:`semisup.classic.LabelSpreading` on a kNN graph of the standardised features (Zhou et al. 2003);
``model="self_training"`` uses :class:`semisup.classic.SelfTrainingClassifier` around a logistic
regression (class-balanced: the 5 most confident items of each class per round). Each finished fit
bumps ``version``; the page polls ``/api/status`` and refetches its queue.

``queue_order`` ranks the unlabeled items with any strategy of :mod:`semisup.active` (margin by default):
a batch strategy (random, coreset, typiclust, kmeans) picks the first ``head`` items as its query would,
jointly; the rest follow by the strategy's score, ties in a seeded random order (image folders are sorted
by class; showing them in that order would be a poor start). Strategies that need no model (random and
the embedding ones) order the items before the first fit; the others use the seeded random order then.

BALD needs several predictive distributions per item: with ``mc_samples > 0`` each refit also fits a
committee of ``mc_samples`` models on stratified bootstrap resamples of the labels (``bootstrap_labels``);
BALD's mutual information over a committee is the Jensen-Shannon disagreement of its members (query by
committee: Seung et al., COLT 1992; McCallum & Nigam, ICML 1998). Label spreading on the cached graph
makes that ``mc_samples`` cheap iterations per refit; self-training refits ``mc_samples`` times.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from semisup.app.items import Items
from semisup.data.dataset import UNLABELED

__all__ = [
    "GraphSpreader",
    "ModelState",
    "Suggester",
    "bootstrap_labels",
    "fit_proba",
    "informativeness",
    "queue_order",
]

# Items a batch strategy picks jointly: more than a refit's worth (every 5 labels by default, the page
# leases 10), and few enough that k-means stays fast and clusters stay meaningful on small pools.
QUEUE_HEAD = 20


@dataclass(frozen=True)
class ModelState:
    """One fitted model's outputs: ``proba`` (N, C) over all items, or None before the first fit;
    ``mc_proba`` (T, N, C) of a bootstrap committee when the suggester makes one (for BALD)."""

    version: int = 0
    proba: np.ndarray | None = None
    n_labels: int = 0
    seconds: float = 0.0
    finished_at: float | None = None
    error: str | None = None
    mc_proba: np.ndarray | None = None


def fit_proba(features: np.ndarray, y: np.ndarray, n_classes: int, model: str = "spreading") -> np.ndarray:
    """Class probabilities (N, n_classes) of every row of ``features`` from labels ``y`` (-1 = none).

    Needs labels of at least two classes; classes without a label get probability 0.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from semisup.classic import LabelSpreading, SelfTrainingClassifier

    X = StandardScaler().fit_transform(features)
    if model == "spreading":
        est = LabelSpreading(n_neighbors=min(10, len(X) - 1), max_iter=100)
    elif model == "self_training":
        # 5 most confident per class and round, 10 rounds: on 120 digits with 6 labels 99 % vs 77 % for a
        # 0.9 threshold (which adopts the logistic regression's confident mistakes)
        est = SelfTrainingClassifier(LogisticRegression(max_iter=500), criterion="class_balanced", k_best=5)
    else:
        raise ValueError(f"model must be 'spreading' or 'self_training', got {model!r}")
    with warnings.catch_warnings():  # few labels: convergence and pseudo-label warnings are expected
        warnings.simplefilter("ignore")
        est.fit(X, y)
        # spreading: the transductive label distributions of the items themselves
        p = est.label_distributions_ if model == "spreading" else est.predict_proba(X)
    full = np.zeros((len(X), n_classes))
    full[:, np.asarray(est.classes_, dtype=np.int64)] = p
    return full


class GraphSpreader:
    """Label spreading whose kNN graph is built once: the app's features never change, only the labels.

    Gives ``fit_proba(features, y, C, "spreading")`` (tested equal) but a refit only iterates
    ``F <- alpha S F + (1 - alpha) Y``: on 4,000 MNIST digits the graph is 3.0 s of a 3.1 s fit.
    """

    def __init__(self, features: np.ndarray, n_neighbors: int = 10, alpha: float = 0.9) -> None:
        self.features, self.n_neighbors, self.alpha = features, n_neighbors, alpha
        self._S = None

    def _graph(self):
        import scipy.sparse as sp
        from sklearn.preprocessing import StandardScaler

        from semisup.classic import build_knn_graph

        if self._S is None:
            X = StandardScaler().fit_transform(self.features)
            W = build_knn_graph(X, min(self.n_neighbors, len(X) - 1))
            deg = np.asarray(W.sum(axis=1)).ravel()
            d = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)
            self._S = sp.csr_matrix(sp.diags(d) @ W @ sp.diags(d))  # D^{-1/2} W D^{-1/2}
        return self._S

    def proba(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        """(N, n_classes) label distributions from labels ``y`` (-1 = none); empty rows get the prior."""
        from semisup.classic.label_propagation import spread_labels

        labeled = y != UNLABELED
        Y = np.zeros((len(y), n_classes))
        Y[np.flatnonzero(labeled), y[labeled]] = 1.0
        F, _, _ = spread_labels(self._graph(), Y, self.alpha, tol=1e-3, max_iter=100)
        mass = F.sum(axis=1, keepdims=True)
        empty = mass[:, 0] <= 0
        F[empty] = np.bincount(y[labeled], minlength=n_classes) / labeled.sum()
        mass[empty] = 1.0
        return F / mass


def bootstrap_labels(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``y`` with each class's labeled items resampled with replacement (stratified bootstrap): the items
    drawn keep their label, the others become -1, so every labeled class stays labeled."""
    out = np.full_like(y, UNLABELED)
    for c in np.unique(y[y != UNLABELED]):
        idx = np.flatnonzero(y == c)
        drawn = rng.choice(idx, size=len(idx), replace=True)
        out[drawn] = c
    return out


def informativeness(
    proba: np.ndarray | None,
    strategy: str = "margin",
    embeddings: np.ndarray | None = None,
    labeled_mask: np.ndarray | None = None,
    seed: int = 0,
    mc_proba: np.ndarray | None = None,
) -> np.ndarray:
    """(N,) scores of :func:`semisup.active.score` (higher = more worth labeling): ``margin``,
    ``entropy``, ``least_confidence`` from ``proba``; ``bald`` from ``mc_proba``; ``coreset`` (distance to
    the labeled items), ``typiclust``/``kmeans`` (typicality) from ``embeddings``; ``random``."""
    from semisup.active.strategies import score

    n_items = None if labeled_mask is None else len(labeled_mask)  # random needs N from somewhere
    s = score(
        strategy, proba=proba, mc_proba=mc_proba, embeddings=embeddings, labeled_mask=labeled_mask,
        n_items=n_items, rng=seed,
    )  # fmt: skip
    return np.asarray(s, dtype=np.float64)


def queue_order(
    proba: np.ndarray | None,
    n: int,
    strategy: str = "margin",
    seed: int = 0,
    embeddings: np.ndarray | None = None,
    labeled_mask: np.ndarray | None = None,
    mc_proba: np.ndarray | None = None,
    head: int = QUEUE_HEAD,
) -> np.ndarray:
    """Positions of the unlabeled items (``labeled_mask`` False; all ``n`` without a mask), most worth
    labeling first.

    A batch strategy's first ``head`` items are ``semisup.active.query(strategy, head, ...)``; then, and
    for the uncertainty strategies throughout, the items by descending ``informativeness``, ties in a
    seeded random order. A strategy whose inputs are missing (a model's outputs before the first fit)
    gives the seeded random order alone.
    """
    from semisup.active.strategies import get_strategy, query

    tiebreak = np.random.default_rng(seed).permutation(n)
    labeled = np.zeros(n, dtype=bool) if labeled_mask is None else np.asarray(labeled_mask, dtype=bool)
    inputs = {"proba": proba, "mc_proba": mc_proba, "embeddings": embeddings}
    spec = get_strategy(strategy)
    if any(inputs[k] is None for k in spec.needs):
        return tiebreak[~labeled[tiebreak]]
    s = informativeness(proba, strategy, embeddings, labeled, seed, mc_proba)
    rest = np.lexsort((tiebreak, -s))
    rest = rest[~labeled[rest]]
    if spec.select is None:
        return rest
    first = query(strategy, head, **inputs, labeled_mask=labeled, n_items=n, rng=seed)
    taken = np.zeros(n, dtype=bool)
    taken[first] = True
    return np.concatenate([first, rest[~taken[rest]]])


class Suggester:
    """Holds the current ``ModelState`` and refits it in the background.

    Args:
        items: the data set's items.
        labels: a callable returning the current human labels as (N,) class ids (-1 = none).
        every: refit after this many new labels (and undos).
        model: ``"spreading"`` or ``"self_training"`` (see ``fit_proba``).
        retrain: refit in the background; False keeps ``fixed_proba`` (a trained run's outputs) or none.
        fixed_proba: (N, C) probabilities to use as version 1 without retraining.
        mc_samples: with ``retrain``, also fit a committee of this many models on bootstrap resamples of
            the labels (``ModelState.mc_proba``, for BALD); 0: none.
        seed: seeds the bootstrap.
    """

    def __init__(
        self,
        items: Items,
        labels: Callable[[], np.ndarray],
        every: int = 5,
        model: str = "spreading",
        retrain: bool = True,
        fixed_proba: np.ndarray | None = None,
        mc_samples: int = 0,
        seed: int = 0,
    ) -> None:
        if every < 1:
            raise ValueError(f"retrain every must be >= 1, got {every}")
        if mc_samples < 0 or mc_samples == 1:
            raise ValueError(f"mc_samples must be 0 (no committee) or >= 2, got {mc_samples}")
        self.mc_samples, self.seed = mc_samples, seed
        self.items, self.labels, self.every, self.model, self.retrain = items, labels, every, model, retrain
        self.state = (
            ModelState() if fixed_proba is None else ModelState(1, fixed_proba, finished_at=time.time())
        )
        self._spreader = GraphSpreader(items.features) if model == "spreading" else None
        self._pending = 0
        self._wake = threading.Condition()
        self._stop = False
        self._training = False
        self._thread: threading.Thread | None = None

    @property
    def training(self) -> bool:
        return self._training

    def start(self) -> None:
        """Start the background thread; it fits once right away when two classes are labeled."""
        if not self.retrain or self._thread is not None:
            return
        self._pending = self.every
        self._thread = threading.Thread(target=self._loop, name="semisup-retrain", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def notify(self) -> None:
        """One more label (or undo): wake the thread when ``every`` have accumulated."""
        with self._wake:
            self._pending += 1
            if self._pending >= self.every:
                self._wake.notify_all()

    def fit_now(self) -> ModelState:
        """Refit synchronously (the thread's body); the new state, or the old one when it cannot fit."""
        human = self.labels()
        y = np.where(human >= 0, human, self.items.seed_labels)
        if np.unique(y[y != UNLABELED]).size < 2:
            return self.state
        t0 = time.perf_counter()
        self._training = True
        try:
            proba = self._fit(y)
            committee = None
            if self.mc_samples:
                # a fresh stream per version: the committee changes with the labels, never by chance alone
                rng = np.random.default_rng([self.seed, self.state.version + 1])
                committee = np.stack([self._fit(bootstrap_labels(y, rng)) for _ in range(self.mc_samples)])
            new = ModelState(
                self.state.version + 1,
                proba,
                int((y != UNLABELED).sum()),
                time.perf_counter() - t0,
                time.time(),
                mc_proba=committee,
            )
        except Exception as e:  # a failed fit keeps the last model; the page shows the error
            new = ModelState(**{**self.state.__dict__, "error": f"{type(e).__name__}: {e}"})
        finally:
            self._training = False
        self.state = new
        return new

    def _fit(self, y: np.ndarray) -> np.ndarray:
        """(N, C) probabilities of the model fitted on labels ``y``."""
        n_classes = len(self.items.classes)
        if self._spreader is not None:
            return self._spreader.proba(y, n_classes)
        return fit_proba(self.items.features, y, n_classes, self.model)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._stop and self._pending < self.every:
                    self._wake.wait()
                if self._stop:
                    return
                self._pending = 0
            self.fit_now()
