"""The pool-based active-learning loop: fit, query, ask the oracle, repeat (optionally AL x SSL).

Each round the learner is fitted on the pool's labels with ``-1`` for the items not labeled yet, so a
semi-supervised learner retrains on the labels *and* the remaining unlabeled pool (AL x SSL; e.g.
Gao et al., "Consistency-Based Semi-supervised Active Learning", ECCV 2020, and Siméoni et al.,
"Rethinking deep active learning: Using unlabeled data at model training", ICPR 2020). The strategy then
picks the next batch from the learner's outputs (:func:`semisup.active.query`) and the oracle labels it.

Round 0 starts from the labels given in ``y`` or, with none, from ``initial_size`` items chosen by
``initial_strategy`` (a cold-start strategy such as ``"typiclust"``, or ``"random"``). Until two classes
are labeled the model is a constant predictor and batches also come from ``initial_strategy``.

The loop stops, and says why in ``ActiveResult.stop_reason``, at the first of:

- ``"budget"``: ``budget`` labels in total (initial ones included; the last batch is cut to fit);
- ``"stable"``: the fraction of ``stop_X`` whose predicted class changed since the previous round stayed
  below ``stop_tol`` for ``patience`` consecutive rounds (stabilising predictions, Bloodgood &
  Vijay-Shanker, CoNLL 2009);
- ``"max_rounds"``: ``max_rounds`` query rounds after round 0;
- ``"pool_exhausted"``: every item is labeled.

:class:`SimulatedOracle` answers from known labels, for benchmarks and tests; any callable
``indices -> labels`` works, e.g. one that asks a person.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from semisup.active.learners import as_learner
from semisup.active.strategies import get_strategy, query

__all__ = ["ActiveLoop", "ActiveResult", "RoundRecord", "SimulatedOracle"]


class SimulatedOracle:
    """Labels from a known label vector ``y_true`` ``(N,)``; asking for an item twice is an error.

    Attributes:
        n_queries_: labels handed out so far. asked_: the set of indices asked.
    """

    def __init__(self, y_true: np.ndarray) -> None:
        self.y_true = np.asarray(y_true)
        self.asked_: set[int] = set()
        self.n_queries_ = 0

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        idx = [int(i) for i in np.asarray(indices).ravel()]
        again = sorted(set(idx) & self.asked_)
        if again or len(set(idx)) != len(idx):
            raise ValueError(f"items asked twice: {again or idx}")
        self.asked_.update(idx)
        self.n_queries_ += len(idx)
        return self.y_true[idx]


@dataclass
class RoundRecord:
    """One round: labels so far, test accuracy (None without a test set), the batch it queried."""

    round: int
    n_labels: int
    accuracy: float | None
    queried: np.ndarray
    changed: float | None  # fraction of stop_X whose prediction changed since the last round
    strategy: str  # what chose ``queried`` ("given" for labels passed in y)
    fit_seconds: float
    query_seconds: float


@dataclass
class ActiveResult:
    """History and final state of a loop run.

    Attributes:
        history: one :class:`RoundRecord` per round (round 0 = the initial labels).
        labeled: indices labeled, in the order they were labeled (given ones first).
        y: the pool's labels at the end, ``-1`` where still unlabeled.
        learner: the learner fitted on the final labels.
        stop_reason: ``"budget"``, ``"stable"``, ``"max_rounds"`` or ``"pool_exhausted"``.
    """

    history: list[RoundRecord]
    labeled: np.ndarray
    y: np.ndarray
    learner: Any
    stop_reason: str

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """``(n_labels, accuracy)`` per round, as arrays (accuracy NaN without a test set)."""
        n = np.array([r.n_labels for r in self.history])
        acc = np.array([np.nan if r.accuracy is None else r.accuracy for r in self.history])
        return n, acc

    def to_rows(self) -> list[dict]:
        """The history as plain dicts (``queried`` as a list), e.g. for ``csv.DictWriter`` or JSON."""
        return [{**asdict(r), "queried": r.queried.tolist()} for r in self.history]


class _Constant:
    """The model while fewer than two classes are labeled: always the one class seen (or nothing)."""

    def __init__(self, label: Any) -> None:
        self.classes_ = np.array([label])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.ones((len(X), 1))

    def predict(self, X: Any) -> np.ndarray:
        return np.repeat(self.classes_, len(X))


def _predict(model: Any, X: Any) -> np.ndarray:
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X))
    return np.asarray(model.classes_)[model.predict_proba(X).argmax(axis=1)]


class ActiveLoop:
    """Pool-based active learning around any learner, with an oracle and stopping criteria.

    Args:
        learner: a scikit-learn classifier with ``predict_proba`` (cloned every round), a
            ``semisup.classic`` estimator (fitted on the pool with ``-1`` labels), a
            :class:`~semisup.active.DeepRunLearner`, or any object with ``fit(X, y)`` (``y == -1``
            unlabeled) and ``predict_proba``.
        strategy: a name in :data:`~semisup.active.STRATEGIES`.
        ssl: wrap a supervised scikit-learn classifier in ``SelfTrainingClassifier`` (AL x SSL).
        batch_size: items labeled per round, >= 1.
        budget: most labels in total (initial ones included); ``None``: no limit.
        initial_size: items labeled in round 0 when ``y`` has none (default ``batch_size``).
        initial_strategy: strategy for round 0 (and while < 2 classes are labeled).
        max_rounds: most query rounds after round 0; ``None``: no limit.
        stop_tol: stop when less than this fraction of predictions changed for ``patience`` rounds in a
            row; ``None`` disables the criterion.
        patience: rounds in a row for ``stop_tol``, >= 1.
        embeddings: ``(N, D)`` features for embedding strategies (default: ``X`` flattened).
        candidate_factor, diversity: batch diversity of uncertainty strategies (see :func:`query`).
        mc_samples: forward passes for ``bald`` (the learner needs ``predict_mc_proba``).
        seed: seeds the strategies' random choices.
        verbose: print one line per round.

    Example:
        >>> from sklearn.datasets import make_blobs
        >>> from sklearn.linear_model import LogisticRegression
        >>> X, y = make_blobs(300, centers=3, random_state=0)
        >>> loop = ActiveLoop(LogisticRegression(), "margin", batch_size=5, budget=20)
        >>> result = loop.run(X, SimulatedOracle(y), X_test=X, y_test=y)
        >>> [r.n_labels for r in result.history], result.stop_reason
        ([5, 10, 15, 20], 'budget')
    """

    def __init__(
        self,
        learner: Any,
        strategy: str = "margin",
        *,
        ssl: bool = False,
        batch_size: int = 10,
        budget: int | None = None,
        initial_size: int | None = None,
        initial_strategy: str = "typiclust",
        max_rounds: int | None = None,
        stop_tol: float | None = None,
        patience: int = 2,
        embeddings: np.ndarray | None = None,
        candidate_factor: float = 1.0,
        diversity: str = "kcenter",
        mc_samples: int = 20,
        seed: int | np.random.Generator | None = 0,
        verbose: bool = False,
    ) -> None:
        self.learner = as_learner(learner, ssl=ssl)
        self.strategy = get_strategy(strategy).name  # unknown name -> error with the closest names
        self.initial_strategy = get_strategy(initial_strategy).name
        limits = {"batch_size": (batch_size, 1), "patience": (patience, 1), "mc_samples": (mc_samples, 1)}
        limits.update(budget=(budget, 1), initial_size=(initial_size, 1), max_rounds=(max_rounds, 0))
        for name, (value, low) in limits.items():
            if value is not None or name in ("batch_size", "patience", "mc_samples"):
                _check_int(name, value, low)
        if set(get_strategy(initial_strategy).needs) & {"proba", "mc_proba"}:
            raise ValueError(
                f"initial_strategy {initial_strategy!r} needs a model's outputs, which round 0 lacks: "
                "use random, coreset, typiclust or kmeans"
            )
        if stop_tol is not None and not 0 < stop_tol <= 1:
            raise ValueError(f"stop_tol must be in (0, 1] or None, got {stop_tol}")
        if "mc_proba" in get_strategy(strategy).needs and not hasattr(self.learner, "predict_mc_proba"):
            raise ValueError(
                f"strategy {strategy!r} needs MC-dropout samples: the learner has no predict_mc_proba "
                "(use DeepRunLearner with a dropout net)"
            )
        self.batch_size, self.budget, self.max_rounds = batch_size, budget, max_rounds
        self.initial_size = batch_size if initial_size is None else initial_size
        self.stop_tol, self.patience = stop_tol, patience
        self.embeddings, self.candidate_factor, self.diversity = embeddings, candidate_factor, diversity
        self.mc_samples, self.seed, self.verbose = mc_samples, seed, verbose

    # ------------------------------------------------------------------ one round's pieces
    def _fit(self, X: Any, y: np.ndarray) -> Any:
        labels = np.unique(y[y != -1])
        if len(labels) < 2:
            return _Constant(labels[0] if len(labels) else -1)
        return self.learner.fit(X, y)

    def _query(self, name: str, model: Any, X: Any, y: np.ndarray, n: int, emb, rng) -> np.ndarray:
        needs = get_strategy(name).needs
        kw: dict[str, Any] = {"labeled_mask": y != -1, "rng": rng}
        if "proba" in needs:
            kw["proba"] = model.predict_proba(X)
        if "mc_proba" in needs:
            kw["mc_proba"] = model.predict_mc_proba(X, self.mc_samples)
        if "embeddings" in needs or (self.candidate_factor != 1 and get_strategy(name).kind == "uncertainty"):
            kw["embeddings"] = emb
        if get_strategy(name).kind == "uncertainty":
            kw.update(candidate_factor=self.candidate_factor, diversity=self.diversity)
        return query(name, n, **kw)

    def run(
        self,
        X: Any,
        oracle: Callable[[np.ndarray], Any],
        *,
        y: np.ndarray | None = None,
        X_test: Any = None,
        y_test: np.ndarray | None = None,
        stop_X: Any = None,
    ) -> ActiveResult:
        """Run rounds until a stopping criterion fires.

        Args:
            X: the pool, ``(N, ...)`` (anything the learner accepts with ``len``).
            oracle: ``indices -> labels`` (integer class ids), e.g. :class:`SimulatedOracle`.
            y: labels already known, ``-1`` elsewhere (default: none).
            X_test, y_test: held-out set for the per-round accuracy.
            stop_X: items whose prediction changes drive ``stop_tol`` (default: ``X``).

        Raises:
            ValueError: ``y`` of the wrong length, or the oracle returned the wrong number of labels or
                a ``-1``.
        """
        N = len(X)
        y_pool = np.full(N, -1, dtype=np.int64) if y is None else np.array(y, dtype=np.int64)
        if y_pool.shape != (N,):
            raise ValueError(f"y must have shape ({N},) like X, got {y_pool.shape}")
        rng = np.random.default_rng(self.seed)
        emb = np.asarray(X).reshape(N, -1) if self.embeddings is None else np.asarray(self.embeddings)
        stop_X = X if stop_X is None else stop_X
        order: list[int] = np.flatnonzero(y_pool != -1).tolist()
        budget = self.budget if self.budget is not None else N

        def ask(idx: np.ndarray) -> None:
            labels = np.asarray(oracle(idx))
            if labels.shape != (len(idx),) or (labels == -1).any():
                raise ValueError(f"the oracle must return {len(idx)} labels (no -1), got {labels!r}")
            y_pool[idx] = labels
            order.extend(int(i) for i in idx)

        def record(t: int, queried: np.ndarray, name: str, t_fit: float, t_query: float, changed) -> None:
            acc = None if X_test is None else float(np.mean(_predict(model, X_test) == np.asarray(y_test)))
            history.append(RoundRecord(t, len(order), acc, queried, changed, name, t_fit, t_query))
            if self.verbose:
                acc_s = "-" if acc is None else f"{acc:.4f}"
                ch_s = "-" if changed is None else f"{changed:.3f}"
                print(f"round {t}: {len(order)} labels, accuracy {acc_s}, changed {ch_s} ({name})")

        history: list[RoundRecord] = []
        t0 = time.perf_counter()
        queried, name = np.zeros(0, dtype=np.int64), "given"
        if not order:
            name = self.initial_strategy
            queried = self._query(name, None, X, y_pool, min(self.initial_size, budget), emb, rng)
            ask(queried)
        t1 = time.perf_counter()
        model = self._fit(X, y_pool)
        t2 = time.perf_counter()
        record(0, queried, name, t2 - t1, t1 - t0, None)
        previous = _predict(model, stop_X)
        stable, t = 0, 0
        while True:
            if len(order) >= N:
                reason = "pool_exhausted"
            elif len(order) >= budget:
                reason = "budget"
            elif self.max_rounds is not None and t >= self.max_rounds:
                reason = "max_rounds"
            elif self.stop_tol is not None and stable >= self.patience:
                reason = "stable"
            else:
                reason = ""
            if reason:
                break
            t += 1
            t0 = time.perf_counter()
            name = self.strategy if not isinstance(model, _Constant) else self.initial_strategy
            n = min(self.batch_size, budget - len(order))
            queried = self._query(name, model, X, y_pool, n, emb, rng)
            ask(queried)
            t1 = time.perf_counter()
            model = self._fit(X, y_pool)
            t2 = time.perf_counter()
            current = _predict(model, stop_X)
            changed = float(np.mean(current != previous))
            stable = stable + 1 if self.stop_tol is not None and changed < self.stop_tol else 0
            previous = current
            record(t, queried, name, t2 - t1, t1 - t0, changed)
        return ActiveResult(history, np.asarray(order, dtype=np.int64), y_pool, model, reason)


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
