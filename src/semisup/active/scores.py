"""Informativeness scores of unlabeled items: pure functions of model outputs or embeddings.

Every function returns one float per item, shape ``(N,)``, where **higher means more worth labeling**.

- Least confidence (Lewis & Gale, SIGIR 1994): ``1 - max_c p_c``; 0 for a one-hot row, ``1 - 1/C`` for a
  uniform one.
- Margin (Scheffer et al., IDA 2001): ``1 - (p_(1) - p_(2))`` with ``p_(1) >= p_(2)`` the two largest
  probabilities; 1 when the two top classes tie.
- Entropy (Shannon; Settles 2009, "Active Learning Literature Survey"): ``-sum_c p_c log p_c`` in nats;
  ``log C`` for a uniform row.
- BALD (Houlsby et al. 2011, arXiv:1112.5745; with MC dropout, Gal, Islam & Ghahramani, ICML 2017): the
  mutual information between the prediction and the model parameters,
  ``H(mean_t p_t) - mean_t H(p_t)`` over ``T`` stochastic forward passes. 0 when all passes agree.
- Typicality (Hacohen, Dekel & Weinshall, "Active Learning on a Budget", ICML 2022): the inverse mean
  Euclidean distance to the ``k`` nearest other items; high in dense regions.
- Distance to the labeled set (Sener & Savarese, "Active Learning for Convolutional Neural Networks: A
  Core-Set Approach", ICLR 2018): Euclidean distance from each item to its nearest labeled item.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr

__all__ = [
    "bald_scores",
    "check_proba",
    "distance_to_set",
    "entropy_scores",
    "least_confidence_scores",
    "margin_scores",
    "typicality_scores",
]

_CHUNK = 1024  # centers per block in distance_to_set: memory O(N * _CHUNK)


def check_proba(proba, name: str = "proba", ndim: int = 2) -> np.ndarray:
    """``proba`` as a float64 array of ``ndim`` dimensions, finite, non-negative, rows summing to 1.

    Raises:
        ValueError: wrong number of dimensions, no class, non-finite or negative values, or rows that do
            not sum to 1 (within 1e-3).
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != ndim:
        shape = "(N, C)" if ndim == 2 else "(T, N, C)"
        raise ValueError(f"{name} must have shape {shape}, got an array of shape {p.shape}")
    if p.shape[-1] < 1:
        raise ValueError(f"{name} has no class column (shape {p.shape})")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"{name} must be finite and non-negative (class probabilities)")
    sums = p.sum(axis=-1)
    if p.size and not np.allclose(sums, 1.0, atol=1e-3):
        worst = float(np.abs(sums - 1).max())
        raise ValueError(
            f"rows of {name} must sum to 1 (probabilities, not logits); off by up to {worst:.3g}"
        )
    return p


def least_confidence_scores(proba) -> np.ndarray:
    """``1 - max_c p_c`` for ``proba`` of shape ``(N, C)``. Returns ``(N,)``."""
    p = check_proba(proba)
    return 1.0 - p.max(axis=1)


def margin_scores(proba) -> np.ndarray:
    """``1 - (p_(1) - p_(2))`` for ``proba`` ``(N, C)``; with one class the margin is 1 (score 0)."""
    p = check_proba(proba)
    if p.shape[1] == 1:
        return np.zeros(len(p))
    top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]  # [second largest, largest]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def entropy_scores(proba) -> np.ndarray:
    """Shannon entropy ``-sum_c p_c log p_c`` (nats) of each row of ``proba`` ``(N, C)``; ``0 log 0 = 0``."""
    p = check_proba(proba)
    return entr(p).sum(axis=1)


def bald_scores(mc_proba) -> np.ndarray:
    """Mutual information ``H(mean_t p_t) - mean_t H(p_t)`` from ``mc_proba`` of shape ``(T, N, C)``.

    ``T`` stochastic forward passes (MC dropout) of ``N`` items over ``C`` classes. Returns ``(N,)``, >= 0.
    """
    p = check_proba(mc_proba, "mc_proba", ndim=3)
    if p.shape[0] < 1:
        raise ValueError("mc_proba needs at least one forward pass (T >= 1)")
    predictive = entr(p.mean(axis=0)).sum(axis=1)
    expected = entr(p).sum(axis=2).mean(axis=0)
    return np.maximum(predictive - expected, 0.0)  # Jensen: >= 0; clip float round-off


def check_embeddings(embeddings, name: str = "embeddings") -> np.ndarray:
    """``embeddings`` as a finite float64 ``(N, D)`` array.

    Raises:
        ValueError: not 2-D or not finite.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got an array of shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def distance_to_set(points, centers) -> np.ndarray:
    """Euclidean distance from each row of ``points`` ``(N, D)`` to its nearest row of ``centers`` ``(M, D)``.

    With ``M = 0`` every distance is ``inf``. Memory ``O(N * 1024)``.
    """
    x = check_embeddings(points, "points")
    c_all = np.asarray(centers, dtype=np.float64).reshape(-1, x.shape[1])
    out = np.full(len(x), np.inf)
    sq = np.einsum("ij,ij->i", x, x)
    for start in range(0, len(c_all), _CHUNK):
        c = c_all[start : start + _CHUNK]
        d2 = sq[:, None] - 2.0 * x @ c.T + np.einsum("ij,ij->i", c, c)[None, :]
        out = np.minimum(out, np.sqrt(np.maximum(d2, 0.0)).min(axis=1))
    return out


def typicality_scores(embeddings, k: int = 20) -> np.ndarray:
    """``1 / mean distance to the k nearest other rows`` of ``embeddings`` ``(N, D)`` (TypiClust).

    ``k`` is capped at ``N - 1``; a single item (or duplicates only) gets ``inf``.
    """
    from sklearn.neighbors import NearestNeighbors

    x = check_embeddings(embeddings)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, len(x) - 1)
    if k < 1:
        return np.full(len(x), np.inf)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    mean = dist[:, 1:].mean(axis=1)  # column 0 is the point itself
    with np.errstate(divide="ignore"):
        return 1.0 / mean
