"""Batch selection over a pool: top-n by score, k-center greedy, cluster picks, and diverse top-n.

All functions take indices into the ``N`` rows of the inputs and return **distinct** indices (an
``np.ndarray`` of ``int64``) of length ``min(n, len(pool))``, in the order they were chosen. Ties are
broken by the lower index, so results are deterministic given the ``rng`` used for k-means.

- :func:`kcenter_greedy` (Sener & Savarese, ICLR 2018; Gonzalez 1985): repeatedly take the pool item
  farthest from every center so far; the labeled items are the initial centers. A 2-approximation of the
  minimax facility location. ``O(n N D)`` time, ``O(N)`` memory beyond the inputs.
- :func:`typiclust_select` (Hacohen, Dekel & Weinshall, ICML 2022): k-means with ``|L| + n`` clusters;
  from the largest clusters holding no labeled item, the most typical item each. ``O(N k D)`` per k-means
  iteration.
- :func:`kmeans_select`: k-means with ``k = n`` on the pool; the pool item nearest each centroid.
- :func:`diverse_top`: the ``m = candidate_factor * n`` highest-scoring items, then ``n`` of them spread
  out by k-center greedy or by clusters (Zhdanov, "Diverse mini-batch Active Learning",
  arXiv:1901.05954, 2019). ``candidate_factor=1`` is plain top-n; larger trades uncertainty for diversity.
"""

from __future__ import annotations

import math

import numpy as np

from semisup.active.scores import check_embeddings, distance_to_set, typicality_scores

__all__ = ["diverse_top", "kcenter_greedy", "kmeans_select", "top_n", "typiclust_select"]


def top_n(scores: np.ndarray, pool: np.ndarray, n: int) -> np.ndarray:
    """The ``min(n, len(pool))`` pool items with the highest ``scores``; ties by lower index."""
    pool = np.sort(np.asarray(pool, dtype=np.int64))
    order = np.argsort(-np.asarray(scores, dtype=np.float64)[pool], kind="stable")
    return pool[order[: min(n, len(pool))]]


def kcenter_greedy(
    embeddings, pool: np.ndarray, n: int, centers: np.ndarray | None = None, first: int | None = None
) -> np.ndarray:
    """k-center greedy: ``n`` pool items, each the one farthest from all centers chosen so far.

    Args:
        embeddings: ``(N, D)`` array.
        pool: candidate indices into the rows.
        n: how many to choose.
        centers: initial centers (e.g. the labeled items), indices into the rows; may be empty.
        first: the first pick when there is no initial center (default: the lowest pool index).
    """
    x = check_embeddings(embeddings)
    pool = np.sort(np.asarray(pool, dtype=np.int64))
    centers = np.zeros(0, dtype=np.int64) if centers is None else np.asarray(centers, dtype=np.int64)
    n = min(n, len(pool))
    chosen: list[int] = []
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if len(centers):
        min_dist = distance_to_set(x[pool], x[centers])
    else:
        if first is None:
            first = int(pool[0])
        if first not in set(pool.tolist()):
            raise ValueError(f"first={first} is not in the pool")
        chosen.append(first)
        min_dist = np.linalg.norm(x[pool] - x[first], axis=1)
    available = np.ones(len(pool), dtype=bool)
    available[np.searchsorted(pool, np.asarray(chosen, dtype=np.int64))] = False
    while len(chosen) < n:
        masked = np.where(available, min_dist, -np.inf)
        j = int(np.argmax(masked))  # first maximum -> lowest index among ties
        chosen.append(int(pool[j]))
        available[j] = False
        min_dist = np.minimum(min_dist, np.linalg.norm(x[pool] - x[pool[j]], axis=1))
    return np.asarray(chosen, dtype=np.int64)


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels ``(N,)`` and centroids ``(k, D)`` of k-means (k-means++, one run), seeded from ``rng``."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(x)
    return km.labels_, km.cluster_centers_


def kmeans_select(embeddings, pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """k-means with ``k = n`` on the pool; per centroid (largest cluster first) its nearest unchosen item."""
    x = check_embeddings(embeddings)
    pool = np.sort(np.asarray(pool, dtype=np.int64))
    n = min(n, len(pool))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == len(pool):
        return pool.copy()
    labels, centroids = _kmeans(x[pool], n, rng)
    sizes = np.bincount(labels, minlength=n)
    taken = np.zeros(len(pool), dtype=bool)
    chosen = []
    for c in np.argsort(-sizes, kind="stable"):
        d = np.linalg.norm(x[pool] - centroids[c], axis=1)
        d[taken] = np.inf  # two centroids sharing a nearest item: the second takes its next nearest
        j = int(np.argmin(d))
        taken[j] = True
        chosen.append(int(pool[j]))
    return np.asarray(chosen, dtype=np.int64)


def typiclust_select(
    embeddings,
    pool: np.ndarray,
    n: int,
    rng: np.random.Generator,
    labeled: np.ndarray | None = None,
    k: int = 20,
) -> np.ndarray:
    """TypiClust: ``|L| + n`` k-means clusters; the most typical item of each of the largest uncovered ones.

    A cluster is covered when it holds a labeled item. Typicality (:func:`typicality_scores`) is computed
    within the cluster, with ``k`` capped at the cluster size minus one. If fewer than ``n`` uncovered
    clusters exist, the remaining picks are the most typical pool items left.
    """
    x = check_embeddings(embeddings)
    pool = np.sort(np.asarray(pool, dtype=np.int64))
    labeled = np.zeros(0, dtype=np.int64) if labeled is None else np.asarray(labeled, dtype=np.int64)
    n = min(n, len(pool))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.concatenate([pool, labeled])
    n_clusters = min(len(labeled) + n, len(rows))
    labels, _ = _kmeans(x[rows], n_clusters, rng)
    pool_labels = labels[: len(pool)]
    covered = set(labels[len(pool) :].tolist())
    sizes = np.bincount(pool_labels, minlength=n_clusters)
    chosen: list[int] = []
    for c in np.argsort(-sizes, kind="stable"):
        if len(chosen) == n:
            break
        if c in covered or sizes[c] == 0:
            continue
        members = pool[pool_labels == c]
        typ = typicality_scores(x[members], k=k)
        chosen.append(int(members[np.argmax(typ)]))
    if len(chosen) < n:  # degenerate clusterings (duplicate points): fill by global typicality
        rest = np.setdiff1d(pool, chosen)
        typ = typicality_scores(x, k=k)
        chosen.extend(top_n(typ, rest, n - len(chosen)).tolist())
    return np.asarray(chosen, dtype=np.int64)


def diverse_top(
    scores,
    embeddings,
    n: int,
    *,
    pool: np.ndarray | None = None,
    labeled: np.ndarray | None = None,
    candidate_factor: float = 5.0,
    method: str = "kcenter",
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """``n`` items among the ``ceil(candidate_factor * n)`` highest-scoring pool items, spread out.

    Args:
        scores: ``(N,)`` informativeness, higher is better.
        embeddings: ``(N, D)``.
        n: batch size.
        pool: candidate indices (default: every row).
        labeled: indices of labeled items, the initial centers of ``method="kcenter"``.
        candidate_factor: ``>= 1``; 1 returns the plain top-n, larger values favour diversity.
        method: ``"kcenter"`` (k-center greedy among the candidates, started from the labeled items or,
            with none, from the best candidate) or ``"cluster"`` (k-means with ``n`` clusters on the
            candidates, the highest-scoring candidate of each).
        rng: seed or Generator for k-means.

    Raises:
        ValueError: ``candidate_factor < 1``, unknown ``method``, or inputs of different lengths.
    """
    s = np.asarray(scores, dtype=np.float64)
    x = check_embeddings(embeddings)
    if s.shape != (len(x),):
        raise ValueError(f"scores must have shape (N,) = ({len(x)},) like embeddings, got {s.shape}")
    if not candidate_factor >= 1:
        raise ValueError(f"candidate_factor must be >= 1, got {candidate_factor}")
    if method not in ("kcenter", "cluster"):
        raise ValueError(f"method must be 'kcenter' or 'cluster', got {method!r}")
    pool = np.arange(len(x)) if pool is None else np.asarray(pool, dtype=np.int64)
    n = min(n, len(pool))
    m = min(len(pool), max(n, math.ceil(candidate_factor * n)))
    candidates = top_n(s, pool, m)  # best first
    if m == n:
        return candidates
    if method == "kcenter":
        return kcenter_greedy(x, candidates, n, centers=labeled, first=int(candidates[0]))
    labels, _ = _kmeans(x[candidates], n, np.random.default_rng(rng))
    chosen = [int(candidates[np.flatnonzero(labels == c)[0]]) for c in range(n) if (labels == c).any()]
    if len(chosen) < n:  # empty clusters: fill with the best candidates left
        rest = np.setdiff1d(candidates, chosen)
        chosen.extend(top_n(s, rest, n - len(chosen)).tolist())
    best_first = np.argsort(-s[chosen], kind="stable")
    return np.asarray(chosen, dtype=np.int64)[best_first]
