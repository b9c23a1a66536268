"""Query strategies: which unlabeled items a person should label next.

Every strategy is a pure function of model outputs or embeddings over ``N`` items, of which
``labeled_mask`` (bool ``(N,)``, default all ``False``) marks those already labeled. A query returns
**distinct** indices into the ``N`` rows, never a labeled one, of length ``min(n, number unlabeled)``,
most valuable first; it is deterministic given ``rng`` (a ``numpy.random.Generator`` or an int seed).

| name | needs | picks |
|---|---|---|
| ``random`` | nothing (``n_items``) | uniformly at random |
| ``least_confidence`` | ``proba (N, C)`` | lowest top probability |
| ``margin`` | ``proba (N, C)`` | smallest gap between the two top probabilities |
| ``entropy`` | ``proba (N, C)`` | highest predictive entropy |
| ``bald`` | ``mc_proba (T, N, C)`` | highest mutual information over MC-dropout passes |
| ``coreset`` | ``embeddings (N, D)`` | k-center greedy from the labeled items |
| ``typiclust`` | ``embeddings (N, D)`` | cold start: most typical item of the largest uncovered clusters |
| ``kmeans`` | ``embeddings (N, D)`` | cold start: item nearest each of ``n`` k-means centroids |

The uncertainty strategies accept ``candidate_factor > 1`` (needs ``embeddings``): the batch is then
chosen among the ``candidate_factor * n`` most uncertain items by
:func:`~semisup.active.selection.diverse_top`, trading uncertainty for diversity.

:func:`score` gives one number per item (higher = more worth labeling; computed for every row, labeled
ones included) to sort a labeling queue: the uncertainty score, the distance to the nearest labeled item
(``coreset``; ``inf`` when nothing is labeled), the typicality (``typiclust``, ``kmeans``) or a random
draw (``random``). For the batch strategies (coreset, typiclust, kmeans) a query is *not* the top-n of
the score: the batch is chosen jointly.

Example:
    >>> import numpy as np
    >>> from semisup.active import query
    >>> proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]])
    >>> query("margin", 2, proba=proba).tolist()
    [1, 2]
    >>> query("margin", 2, proba=proba, labeled_mask=np.array([False, True, False])).tolist()
    [2, 0]
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from semisup.active import scores as S
from semisup.active.selection import diverse_top, kcenter_greedy, kmeans_select, top_n, typiclust_select
from semisup.registry import UnknownNameError, unknown_name_message

__all__ = ["STRATEGIES", "MissingInputError", "Strategy", "get_strategy", "query", "score"]

INPUTS = ("proba", "mc_proba", "embeddings")
_SHAPES = {"proba": "proba (N, C)", "mc_proba": "mc_proba (T, N, C)", "embeddings": "embeddings (N, D)"}


class MissingInputError(ValueError):
    """A strategy was called without the model output or embeddings it needs."""


Rng = np.random.Generator | int | None


@dataclass(frozen=True)
class Strategy:
    """A registered query strategy.

    Attributes:
        name: registry name.
        needs: the inputs it requires, among ``"proba"``, ``"mc_proba"``, ``"embeddings"``.
        kind: ``"random"``, ``"uncertainty"``, ``"diversity"`` or ``"cold_start"``.
        scores: ``(inputs, labeled_mask, rng) -> (N,)`` per-item scores.
        select: ``(inputs, pool, labeled, n, rng) -> indices`` for batch strategies; ``None`` means the
            top-n of ``scores``.
        description: one line.
    """

    name: str
    needs: tuple[str, ...]
    kind: str
    scores: Callable[[dict, np.ndarray, np.random.Generator], np.ndarray]
    select: Callable[..., np.ndarray] | None
    description: str

    def __call__(self, n: int, **inputs) -> np.ndarray:
        """Same as ``query(self.name, n, **inputs)``."""
        return query(self.name, n, **inputs)


def _random_scores(inputs: dict, labeled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.random(len(labeled))


def _coreset_scores(inputs: dict, labeled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = inputs["embeddings"]
    return S.distance_to_set(x, x[labeled])


def _typicality(inputs: dict, labeled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return S.typicality_scores(inputs["embeddings"])


def _select_random(inputs, pool, labeled, n, rng):
    return rng.permutation(pool)[: min(n, len(pool))].astype(np.int64)


def _select_coreset(inputs, pool, labeled, n, rng):
    first = None if labeled.any() or not len(pool) else int(rng.choice(pool))  # Sener & Savarese: random
    return kcenter_greedy(inputs["embeddings"], pool, n, centers=np.flatnonzero(labeled), first=first)


def _select_typiclust(inputs, pool, labeled, n, rng):
    return typiclust_select(inputs["embeddings"], pool, n, rng, labeled=np.flatnonzero(labeled))


def _select_kmeans(inputs, pool, labeled, n, rng):
    return kmeans_select(inputs["embeddings"], pool, n, rng)


def _uncertainty(name: str, fn: Callable[[np.ndarray], np.ndarray], needs: str, text: str) -> Strategy:
    return Strategy(name, (needs,), "uncertainty", lambda inp, lab, rng: fn(inp[needs]), None, text)


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in [
        Strategy("random", (), "random", _random_scores, _select_random, "uniformly at random"),
        _uncertainty("least_confidence", S.least_confidence_scores, "proba", "lowest top probability"),
        _uncertainty("margin", S.margin_scores, "proba", "smallest gap between the two top probabilities"),
        _uncertainty("entropy", S.entropy_scores, "proba", "highest predictive entropy"),
        _uncertainty("bald", S.bald_scores, "mc_proba", "highest mutual information over MC-dropout passes"),
        Strategy(
            "coreset", ("embeddings",), "diversity", _coreset_scores, _select_coreset,
            "k-center greedy over embeddings, labeled items as initial centers",
        ),
        Strategy(
            "typiclust", ("embeddings",), "cold_start", _typicality, _select_typiclust,
            "most typical item of each of the largest k-means clusters without a label",
        ),
        Strategy(
            "kmeans", ("embeddings",), "cold_start", _typicality, _select_kmeans,
            "the item nearest each of n k-means centroids",
        ),
    ]
}  # fmt: skip


def get_strategy(name: str) -> Strategy:
    """The registered strategy ``name``; an unknown name raises with the closest names."""
    if name not in STRATEGIES:
        raise UnknownNameError(unknown_name_message("query strategy", name, set(STRATEGIES)))
    return STRATEGIES[name]


def _prepare(strategy: Strategy, inputs: dict, labeled_mask, n_items: int | None) -> tuple[dict, np.ndarray]:
    """Validated inputs (only those given) and the labeled mask; all must agree on ``N``."""
    missing = [k for k in strategy.needs if inputs.get(k) is None]
    if missing:
        given = [k for k in INPUTS if inputs.get(k) is not None]
        raise MissingInputError(
            f"query strategy {strategy.name!r} needs {' and '.join(_SHAPES[k] for k in missing)}; "
            f"given: {', '.join(given) or 'nothing'}"
        )
    checked: dict = {}
    if inputs.get("proba") is not None:
        checked["proba"] = S.check_proba(inputs["proba"])
    if inputs.get("mc_proba") is not None:
        checked["mc_proba"] = S.check_proba(inputs["mc_proba"], "mc_proba", ndim=3)
    if inputs.get("embeddings") is not None:
        checked["embeddings"] = S.check_embeddings(inputs["embeddings"])
    sizes = {k: (v.shape[1] if k == "mc_proba" else v.shape[0]) for k, v in checked.items()}
    if labeled_mask is not None:
        mask = np.asarray(labeled_mask)
        if mask.dtype != np.bool_ or mask.ndim != 1:
            raise ValueError(
                f"labeled_mask must be a 1-d bool array, got dtype {mask.dtype}, shape {mask.shape}"
            )
        sizes["labeled_mask"] = len(mask)
    if n_items is not None:
        sizes["n_items"] = n_items
    if len(set(sizes.values())) > 1:
        raise ValueError(f"inputs disagree on the number of items N: {sizes}")
    if not sizes:
        raise MissingInputError(f"query strategy {strategy.name!r} needs n_items or labeled_mask to know N")
    N = next(iter(sizes.values()))
    mask = np.zeros(N, dtype=bool) if labeled_mask is None else np.asarray(labeled_mask, dtype=bool)
    return checked, mask


def score(
    name: str,
    *,
    proba=None,
    mc_proba=None,
    embeddings=None,
    labeled_mask=None,
    n_items: int | None = None,
    rng: Rng = None,
) -> np.ndarray:
    """Per-item scores ``(N,)`` of strategy ``name``; higher = more worth labeling.

    Raises:
        UnknownNameError: unknown strategy (the message lists the closest names).
        MissingInputError: an input the strategy needs is ``None``.
        ValueError: malformed inputs or inputs that disagree on ``N``.
    """
    strategy = get_strategy(name)
    inputs = {"proba": proba, "mc_proba": mc_proba, "embeddings": embeddings}
    checked, mask = _prepare(strategy, inputs, labeled_mask, n_items)
    return strategy.scores(checked, mask, np.random.default_rng(rng))


def query(
    name: str,
    n: int,
    *,
    proba=None,
    mc_proba=None,
    embeddings=None,
    labeled_mask=None,
    n_items: int | None = None,
    rng: Rng = None,
    candidate_factor: float = 1.0,
    diversity: str = "kcenter",
) -> np.ndarray:
    """Indices of the ``min(n, #unlabeled)`` items strategy ``name`` asks to label, best first.

    Args:
        name: a key of :data:`STRATEGIES`.
        n: batch size, an int ``>= 0``.
        proba: ``(N, C)`` class probabilities (least_confidence, margin, entropy).
        mc_proba: ``(T, N, C)`` probabilities of ``T`` MC-dropout passes (bald).
        embeddings: ``(N, D)`` features (coreset, typiclust, kmeans; and diversity for the others).
        labeled_mask: ``(N,)`` bool, ``True`` for items already labeled (never returned).
        n_items: ``N`` when no other input carries it (``random``).
        rng: Generator or seed; the same seed gives the same indices.
        candidate_factor: for uncertainty strategies, ``> 1`` picks a diverse batch among the
            ``candidate_factor * n`` most uncertain items (needs ``embeddings``).
        diversity: ``"kcenter"`` or ``"cluster"``, how :func:`diverse_top` spreads the batch.

    Returns:
        ``np.ndarray`` of distinct ``int64`` indices into the ``N`` rows.

    Raises:
        UnknownNameError: unknown strategy (the message lists the closest names).
        MissingInputError: an input the strategy needs (or ``embeddings`` for ``candidate_factor > 1``)
            is ``None``.
        ValueError: ``n`` negative or not an int, malformed inputs, inputs that disagree on ``N``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    strategy = get_strategy(name)
    inputs = {"proba": proba, "mc_proba": mc_proba, "embeddings": embeddings}
    checked, mask = _prepare(strategy, inputs, labeled_mask, n_items)
    gen = np.random.default_rng(rng)
    pool = np.flatnonzero(~mask)
    if candidate_factor != 1.0 and strategy.kind != "uncertainty":
        raise ValueError(f"candidate_factor applies to uncertainty strategies only, not {name!r}")
    if strategy.select is not None:
        return strategy.select(checked, pool, mask, int(n), gen)
    s = strategy.scores(checked, mask, gen)
    if candidate_factor == 1.0:
        return top_n(s, pool, int(n))
    if "embeddings" not in checked:
        raise MissingInputError(
            f"candidate_factor={candidate_factor} (a diverse batch) needs embeddings (N, D)"
        )
    return diverse_top(
        s, checked["embeddings"], int(n), pool=pool, labeled=np.flatnonzero(mask),
        candidate_factor=candidate_factor, method=diversity, rng=gen,
    )  # fmt: skip
