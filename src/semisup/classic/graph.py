"""Sparse, symmetric k-nearest-neighbour graphs with Gaussian edge weights.

The graph behind :class:`~semisup.classic.LabelSpreading` and :class:`~semisup.classic.LabelPropagation`.

Edge weights (``d_ij`` = Euclidean distance from ``i`` to its neighbour ``j``):

- ``bandwidth="median"`` (default): one global ``sigma`` = the median of all ``N * k`` neighbour
  distances, and ``w_ij = exp(-d_ij**2 / (2 * sigma**2))``.
- ``bandwidth="local"`` (self-tuning, Zelnik-Manor & Perona, NeurIPS 2004): ``sigma_i`` = the distance
  from ``i`` to its ``k``-th neighbour, and ``w_ij = exp(-d_ij**2 / (2 * sigma_i * sigma_j))``. Adapts to
  varying density.
- ``bandwidth=<float>``: a fixed global ``sigma``.
- ``kernel="connectivity"``: every edge weighs 1 (scikit-learn's ``kernel="knn"``), bandwidth unused.

A zero bandwidth (many duplicate points) is replaced by the smallest positive distance (or 1.0).

The directed kNN graph (self-loops excluded) is symmetrised: ``symmetrize="max"`` keeps an edge if either
endpoint lists the other (``W = max(W, W.T)``); ``"mean"`` halves one-way edges (``(W + W.T) / 2``).

Neighbour search: exact through ``sklearn.neighbors.NearestNeighbors(algorithm="auto")``, or approximate
through faiss (an IVF self-join: faiss k-means cells, then one matrix product per cell, see
:mod:`semisup.classic.ann`) or pynndescent when one of them imports. faiss-cpu is a default dependency of
semisup (``pip install -e .`` installs it). ``approximate="auto"`` uses them from
``APPROXIMATE_MIN_SAMPLES`` points on; ``approximate=True`` asks for them at any size. When neither
imports (a platform without the faiss wheel, a broken install) a fit that wanted them falls back to the
exact search with a :class:`SlowNeighbourSearchWarning`, once per process: the exact search was 0.9x
scikit-learn's time at 200,000 points instead of 27.8x faster, and ran over 16 minutes at 1,000,000 points
instead of 39 s (BENCHMARKS.md).

Complexity: exact search O(N^2 d) brute force (O(N log N)-ish with trees in low dimension); the IVF
self-join O(N * 4096 * d) with its defaults; the graph holds at most ``2 N k`` edges.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

__all__ = [
    "APPROXIMATE_MIN_SAMPLES",
    "SlowNeighbourSearchWarning",
    "ann_backend",
    "build_knn_graph",
    "gaussian_weights",
    "knn_search",
]

#: below this many points ``approximate="auto"`` uses the exact search (it is fast enough and exact).
APPROXIMATE_MIN_SAMPLES = 20_000

_warned_fallback = False  # the missing-faiss warning is given once per process


class SlowNeighbourSearchWarning(UserWarning):
    """A fit that needs the approximate neighbour search found neither faiss nor pynndescent and took
    the exact search (much slower from tens of thousands of points on)."""


def _imports(name: str) -> bool:
    """Whether ``import name`` works (a module found but failing to load counts as missing)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def ann_backend() -> str | None:
    """``"faiss"`` or ``"pynndescent"`` if it imports (in that order of preference), else ``None``."""
    for name in ("faiss", "pynndescent"):
        if importlib.util.find_spec(name) is not None and _imports(name):
            return name
    return None


def _warn_exact_fallback(n: int) -> None:
    global _warned_fallback
    if _warned_fallback:
        return
    _warned_fallback = True
    warnings.warn(
        f"faiss is not importable (nor pynndescent): the kNN graph of these {n:,} points takes the EXACT "
        "neighbour search, which is far slower at this size (at 200,000 points 28x slower than with "
        "faiss; 1,000,000 points ran over 16 minutes instead of 39 s). faiss-cpu is a dependency of "
        "semisup: `pip install faiss-cpu` (or pass approximate=False to silence this). Warned once.",
        SlowNeighbourSearchWarning,
        stacklevel=5,  # LabelSpreading.fit's caller
    )


def _faiss_knn(X: np.ndarray, k: int, n_jobs: int | None, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    from semisup.classic.ann import ivf_self_knn

    return ivf_self_knn(X, k, seed=0 if seed is None else seed, n_threads=n_jobs)


def _pynndescent_knn(
    X: np.ndarray, k: int, n_jobs: int | None, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    from pynndescent import NNDescent

    index = NNDescent(X, n_neighbors=k + 1, random_state=seed, n_jobs=n_jobs if n_jobs else -1)
    ind, dist = index.neighbor_graph
    return _drop_self(dist, ind, k)


def _drop_self(dist: np.ndarray, ind: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove the query point from each row of a (k+1)-NN result; if it was missed, drop the last column.

    Missing neighbours (index -1 from faiss) are replaced by the row's last valid neighbour.
    """
    n = ind.shape[0]
    is_self = ind == np.arange(n)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    keep = ~is_self
    # a row may list itself twice (duplicates) — keep exactly k columns
    keep &= np.cumsum(keep, axis=1) <= k
    ind_k = ind[keep].reshape(n, k)
    dist_k = dist[keep].reshape(n, k).astype(np.float64)
    bad = ind_k < 0
    if bad.any():
        first = np.where(bad, np.inf, dist_k).argmin(axis=1)
        ind_k = np.where(bad, ind_k[np.arange(n), first][:, None], ind_k)
        dist_k = np.where(bad, dist_k[np.arange(n), first][:, None], dist_k)
    return dist_k, ind_k


def knn_search(
    X,
    n_neighbors: int,
    *,
    approximate: bool | str = "auto",
    n_jobs: int | None = None,
    random_state: int | None = None,
) -> tuple[np.ndarray, np.ndarray, NearestNeighbors | None]:
    """The ``n_neighbors`` nearest other points of every row of ``X``.

    Returns:
        ``(distances, indices, nn)``, both arrays of shape ``(N, n_neighbors)`` sorted by distance,
        excluding each point itself; ``nn`` is the fitted ``NearestNeighbors`` on the exact path, else
        ``None``.
    """
    n = X.shape[0]
    use_ann = approximate is True or (approximate == "auto" and n >= APPROXIMATE_MIN_SAMPLES)
    backend = ann_backend() if use_ann and not sp.issparse(X) else None
    if use_ann and backend is None and sp.issparse(X) and approximate is True:
        warnings.warn(
            "approximate=True but X is sparse: the approximate search needs dense input; "
            "using the exact scikit-learn search.",
            UserWarning,
            stacklevel=3,
        )
    elif use_ann and backend is None:
        _warn_exact_fallback(n)
    if use_ann and backend == "faiss":
        dist, ind = _faiss_knn(X, n_neighbors, n_jobs, random_state)
        return dist, ind, None
    if use_ann and backend == "pynndescent":
        dist, ind = _pynndescent_knn(X, n_neighbors, n_jobs, random_state)
        return dist, ind, None
    nn = NearestNeighbors(n_neighbors=n_neighbors, algorithm="auto", n_jobs=n_jobs).fit(X)
    dist, ind = nn.kneighbors()  # X=None: each point's neighbours exclude itself
    return dist, ind, nn


def resolve_bandwidth(dist: np.ndarray, bandwidth: str | float) -> float | np.ndarray:
    """Global ``sigma`` (float) or per-point ``sigma_i`` (array of shape ``(N,)``) from kNN distances."""
    if bandwidth == "local":
        sigma = dist[:, -1].astype(np.float64).copy()
        pos = dist[dist > 0]
        sigma[sigma <= 0] = pos.min() if pos.size else 1.0
        return sigma
    if bandwidth == "median":
        sigma = float(np.median(dist)) if dist.size else 1.0
        if sigma <= 0:
            pos = dist[dist > 0]
            sigma = float(pos.min()) if pos.size else 1.0
        return sigma
    return float(bandwidth)


def gaussian_weights(
    dist: np.ndarray, sigma_rows: float | np.ndarray, sigma_cols: float | np.ndarray | None = None
) -> np.ndarray:
    """``exp(-d**2 / (2 * sigma_row * sigma_col))``; a global sigma gives ``exp(-d**2 / (2 sigma**2))``."""
    sigma_cols = sigma_rows if sigma_cols is None else sigma_cols
    if np.ndim(sigma_rows):
        sigma_rows = np.asarray(sigma_rows)[:, None]
    return np.exp(-(dist**2) / (2.0 * sigma_rows * sigma_cols))


def build_knn_graph(
    X,
    n_neighbors: int = 10,
    *,
    kernel: str = "gaussian",
    bandwidth: str | float = "median",
    symmetrize: str = "max",
    approximate: bool | str = "auto",
    n_jobs: int | None = None,
    random_state: int | None = None,
    return_details: bool = False,
):
    """Symmetric sparse kNN affinity matrix of ``X``.

    Args:
        X: array or sparse matrix of shape ``(N, d)``, ``N >= 2``.
        n_neighbors: neighbours per point (clipped to ``N - 1``), self excluded.
        kernel: ``"gaussian"`` or ``"connectivity"`` (all weights 1).
        bandwidth: ``"median"`` (global), ``"local"`` (per point) or a positive float; see module docstring.
        symmetrize: ``"max"`` or ``"mean"`` of ``W`` and ``W.T``.
        approximate: ``"auto"``, ``True`` or ``False`` (see module docstring).
        n_jobs: threads for the neighbour search.
        random_state: seed for pynndescent.
        return_details: also return ``{"sigma": ..., "nn": NearestNeighbors | None}``.

    Returns:
        ``scipy.sparse.csr_matrix`` of shape ``(N, N)``, float64, symmetric, nonnegative, zero diagonal
        (stored diagonal entries are absent), at most ``2 N k`` stored entries.

    Raises:
        ValueError: fewer than 2 samples, or unknown ``kernel`` / ``symmetrize`` / ``bandwidth``.

    Example:
        >>> import numpy as np
        >>> W = build_knn_graph(np.array([[0.0], [1.0], [3.0], [6.0]]), n_neighbors=1)
        >>> W.shape, W.nnz
        ((4, 4), 6)
    """
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"a kNN graph needs at least 2 samples, got n_samples = {n}")
    if kernel not in ("gaussian", "connectivity"):
        raise ValueError(f"kernel must be 'gaussian' or 'connectivity', got {kernel!r}")
    if symmetrize not in ("max", "mean"):
        raise ValueError(f"symmetrize must be 'max' or 'mean', got {symmetrize!r}")
    if not (bandwidth in ("median", "local") or (isinstance(bandwidth, int | float) and bandwidth > 0)):
        raise ValueError(f"bandwidth must be 'median', 'local' or a positive float, got {bandwidth!r}")
    k = min(int(n_neighbors), n - 1)
    dist, ind, nn = knn_search(X, k, approximate=approximate, n_jobs=n_jobs, random_state=random_state)

    sigma: float | np.ndarray | None = None
    if kernel == "gaussian":
        sigma = resolve_bandwidth(dist, bandwidth)
        w = gaussian_weights(dist, sigma, sigma[ind] if np.ndim(sigma) else None)
    else:
        w = np.ones_like(dist)

    rows = np.repeat(np.arange(n), k)
    cols = ind.ravel()
    off_diag = rows != cols  # an approximate search may still return i among i's neighbours
    W = sp.csr_matrix((w.ravel()[off_diag], (rows[off_diag], cols[off_diag])), shape=(n, n), dtype=np.float64)
    W.sum_duplicates()
    W.eliminate_zeros()
    W = W.maximum(W.T) if symmetrize == "max" else (W + W.T) * 0.5
    W = sp.csr_matrix(W)
    W.sort_indices()
    if return_details:
        return W, {"sigma": sigma, "nn": nn, "n_neighbors": k}
    return W
