"""Simulated active-learning curves: strategies x seeds on fully labeled data, one row per round.

:func:`learning_curves` runs one :class:`~semisup.active.ActiveLoop` per strategy and seed with a
:class:`~semisup.active.SimulatedOracle` on the pool and scores each round on a held-out test set. The
``random`` strategy is the honest baseline of labeling without active learning: it also starts from
random labels, whatever ``start`` the other strategies use.

Example:
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_blobs(300, centers=3, random_state=0)
    >>> rows = learning_curves(X[:200], y[:200], X[200:], y[200:], ["margin", "random"],
    ...                        lambda seed: LogisticRegression(), seeds=[0], batch_size=5, budget=15)
    >>> [(r["strategy"], r["n_labels"]) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('margin', 5), ('margin', 10), ('margin', 15), ('random', 5), ('random', 10), ('random', 15)]
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semisup.active.loop import ActiveLoop, SimulatedOracle

__all__ = ["COLUMNS", "learning_curves", "read_curve_csv", "summary_table", "write_curve_csv"]

COLUMNS = ("strategy", "seed", "round", "n_labels", "accuracy", "seconds")


def learning_curves(
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    strategies: Sequence[str],
    make_learner: Callable[[int], Any],
    *,
    seeds: Iterable[int] = (0,),
    batch_size: int = 10,
    budget: int = 100,
    initial_size: int | None = None,
    start: str = "typiclust",
    ssl: bool = False,
    on_run: Callable[[str, int, list[dict]], None] | None = None,
) -> list[dict]:
    """Rows ``strategy, seed, round, n_labels, accuracy, seconds`` of every round of every run.

    Args:
        X, y: the pool and its true labels (all known: the oracle answers from them).
        X_test, y_test: held-out set scored after every round.
        strategies: names in :data:`~semisup.active.STRATEGIES`, run in this order.
        make_learner: ``seed -> learner`` (a scikit-learn classifier or any ``ActiveLoop`` learner), a
            fresh one per run.
        seeds: one run per seed and strategy; the seed drives the strategies' random choices.
        batch_size, budget, initial_size: as in :class:`~semisup.active.ActiveLoop`.
        start: the round-0 strategy of every strategy but ``random`` (which starts at random).
        ssl: wrap a supervised scikit-learn learner in self-training (AL x SSL).
        on_run: called after each run with ``(strategy, seed, its rows)``, e.g. to print progress.

    ``seconds`` is the time of the round's query plus fit.
    """
    rows: list[dict] = []
    for strategy in strategies:
        for seed in seeds:
            loop = ActiveLoop(
                make_learner(seed), strategy, ssl=ssl, batch_size=batch_size, budget=budget,
                initial_size=initial_size, initial_strategy="random" if strategy == "random" else start,
                seed=seed,
            )  # fmt: skip
            with warnings.catch_warnings():  # few labels: convergence warnings are expected every round
                warnings.simplefilter("ignore")
                result = loop.run(X, SimulatedOracle(y), X_test=X_test, y_test=y_test)
            mine = [
                {
                    "strategy": strategy,
                    "seed": seed,
                    "round": r.round,
                    "n_labels": r.n_labels,
                    "accuracy": r.accuracy,
                    "seconds": r.fit_seconds + r.query_seconds,
                }
                for r in result.history
            ]
            rows += mine
            if on_run is not None:
                on_run(strategy, seed, mine)
    return rows


def write_curve_csv(rows: list[dict], path: str | Path) -> Path:
    """Write the rows of :func:`learning_curves` as CSV (accuracy to 6 decimals)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({**r, "accuracy": f"{r['accuracy']:.6f}", "seconds": f"{r['seconds']:.4f}"})
    return path


def read_curve_csv(path: str | Path) -> list[dict]:
    """The rows of a ``curve.csv`` with numbers parsed."""
    with Path(path).open(newline="") as f:
        return [
            {
                "strategy": r["strategy"],
                "seed": int(r["seed"]),
                "round": int(r["round"]),
                "n_labels": int(r["n_labels"]),
                "accuracy": float(r["accuracy"]),
                "seconds": float(r["seconds"]),
            }
            for r in csv.DictReader(f)
        ]


def curve_stats(rows: list[dict], strategy: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n_labels, mean, std)`` of one strategy's accuracy over seeds (sample std; 0 for one seed)."""
    mine = [r for r in rows if r["strategy"] == strategy]
    n = np.array(sorted({r["n_labels"] for r in mine}))
    acc = [[r["accuracy"] for r in mine if r["n_labels"] == k] for k in n]
    mean = np.array([np.mean(a) for a in acc])
    std = np.array([np.std(a, ddof=1) if len(a) > 1 else 0.0 for a in acc])
    return n, mean, std


def _checkpoints(n: np.ndarray, k: int) -> list[int]:
    """Up to ``k`` label counts spread over ``n`` (first and last included)."""
    if len(n) <= k:
        return n.tolist()
    picks = np.unique(np.round(np.linspace(0, len(n) - 1, k)).astype(int))
    return n[picks].tolist()


def summary_table(rows: list[dict], columns: int = 5) -> str:
    """Test accuracy (%) mean ± std over seeds at up to ``columns`` label counts, one line per
    strategy, plus seconds per run; fits 80 characters for strategy names up to 16."""
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    n_all = np.array(sorted({r["n_labels"] for r in rows}))
    at = _checkpoints(n_all, columns)
    width = max(14, *(len(s) for s in strategies))
    head = f"{'labels':<{width}}" + "".join(f"{k:>11}" for k in at) + f"{'s/run':>8}"
    lines = [head]
    for s in strategies:
        n, mean, std = curve_stats(rows, s)
        cells = []
        for k in at:
            i = np.flatnonzero(n == k)
            cells.append(f"{100 * mean[i[0]]:.1f}±{100 * std[i[0]]:.1f}" if len(i) else "-")
        runs = {r["seed"] for r in rows if r["strategy"] == s}
        secs = sum(r["seconds"] for r in rows if r["strategy"] == s) / len(runs)
        lines.append(f"{s:<{width}}" + "".join(f"{c:>11}" for c in cells) + f"{secs:>8.1f}")
    return "\n".join(lines)
