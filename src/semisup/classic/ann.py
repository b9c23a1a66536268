"""Approximate k-nearest neighbours of every point among the others: an IVF self-join.

A kNN *graph* asks for the neighbours of every training point among the training points (a self-join),
so the queries are the indexed points themselves. Instead of answering ``N`` independent queries (faiss's
``IndexIVFFlat.search`` or HNSW scan one query at a time: 11–28 s for 200,000 × 20 here), this module
answers them one *cell* at a time:

1. k-means (faiss's ``Kmeans``, trained on a subsample of ``32`` points per centroid) cuts the points into
   ``n_cells = N / cell_size`` cells, and every point joins the cell of its nearest centroid (the
   inverted-file, IVF, partition of Jégou et al., "Product quantization for nearest neighbor search",
   TPAMI 2011).
2. For each cell, the candidates are the points of the ``n_probe`` cells whose centroids lie nearest to
   its centroid (itself included); one dense block of squared distances ``|q|^2 - 2 q.x + |x|^2``
   (a matrix product) and a top-``k`` give the neighbours of all of the cell's points at once.

Points near a cell's border may miss true neighbours in cells that are not probed: the result is
approximate. On ``make_classification(n_features=20, n_informative=10)`` with ``cell_size=256,
n_probe=16`` (the defaults) the recall of the 10 nearest neighbours is 0.88 at 200,000 points (measured in
``BENCHMARKS.md``); label spreading on that graph lost about 0.5 points of accuracy against the exact
graph at 50,000 points, for a sixth of the CPU time (the missed neighbours are replaced by slightly
farther points of the same region).

Complexity: k-means ``O(N n_cells d)``; the join ``O(N * n_probe * cell_size * d)`` time and
``O(cell_size * n_probe * cell_size)`` extra memory per block; the result ``O(N k)``.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["ivf_self_knn"]

#: defaults of :func:`ivf_self_knn`, chosen on the issue-5 benchmark (recall vs time, BENCHMARKS.md)
CELL_SIZE = 256
N_PROBE = 16


def _kmeans_cells(X: np.ndarray, n_cells: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centroids ``(n_cells, d)`` (faiss k-means, 10 iterations) and each point's cell ``(N,)``."""
    import faiss

    km = faiss.Kmeans(X.shape[1], n_cells, niter=10, max_points_per_centroid=32, seed=seed)
    km.train(X)
    _, cell = km.index.search(X, 1)
    return km.centroids, cell.ravel().astype(np.int64)


def ivf_self_knn(
    X: np.ndarray,
    k: int,
    *,
    cell_size: int = CELL_SIZE,
    n_probe: int = N_PROBE,
    seed: int = 0,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` (approximately) nearest other points of every row of ``X``.

    Args:
        X: ``(N, d)`` dense array, ``N >= 2``.
        k: neighbours per point, ``1 <= k < N``.
        cell_size: mean points per k-means cell (``n_cells = max(1, N // cell_size)``).
        n_probe: cells searched for each cell's points (clipped to ``n_cells``).
        seed: k-means seed.
        n_threads: threads for faiss and torch (``None``: their defaults).

    Returns:
        ``(distances, indices)``, float64 and int64 arrays of shape ``(N, k)``, each row sorted by
        distance and never containing the row's own index.
    """
    import faiss

    Xf = np.ascontiguousarray(X, dtype=np.float32)
    n = Xf.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, N-1] = [1, {n - 1}], got {k}")
    n_cells = max(1, n // cell_size)
    old_threads = torch.get_num_threads()
    if n_threads is not None and n_threads > 0:
        faiss.omp_set_num_threads(n_threads)
        torch.set_num_threads(n_threads)
    try:
        if n_cells == 1:
            centroids, cell = Xf.mean(axis=0, keepdims=True), np.zeros(n, dtype=np.int64)
        else:
            centroids, cell = _kmeans_cells(Xf, n_cells, seed)
        n_probe = min(n_probe, n_cells)
        _, probe = faiss.knn(centroids, centroids, n_probe)  # (n_cells, n_probe), itself first
        order = np.argsort(cell, kind="stable")  # points sorted by cell: each cell is one slice
        starts = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_cells))])
        Xs = torch.from_numpy(Xf[order])
        sq = (Xs * Xs).sum(dim=1)
        ind = np.empty((n, k), dtype=np.int64)
        dist = np.empty((n, k), dtype=np.float64)
        for c in range(n_cells):
            lo, hi = int(starts[c]), int(starts[c + 1])
            if hi == lo:
                continue
            # the cell itself first, so each query's own position is the diagonal of the block
            cells = [c] + [int(j) for j in probe[c] if j >= 0 and j != c]
            slices = [slice(int(starts[j]), int(starts[j + 1])) for j in cells]
            cand = torch.cat([Xs[sl] for sl in slices])
            cand_pos = np.concatenate([np.arange(sl.start, sl.stop) for sl in slices])
            # |x|^2 - 2 q.x ranks the candidates of query q like |q - x|^2 (|q|^2 is added back after)
            d2 = torch.addmm(torch.cat([sq[sl] for sl in slices])[None, :], Xs[lo:hi], cand.T, alpha=-2.0)
            d2.diagonal().fill_(float("inf"))  # a point is never its own neighbour
            kk = min(k, len(cand_pos) - 1)
            val, pos = torch.topk(d2, kk, dim=1, largest=False, sorted=True)
            val = val.double().add_(sq[lo:hi, None].double()).clamp_(min=0.0).sqrt_()
            rows = order[lo:hi]
            ind[rows, :kk] = order[cand_pos[pos.numpy()]]
            dist[rows, :kk] = val.numpy()
            if kk < k:  # a tiny probed region: repeat the farthest neighbour found
                ind[rows, kk:] = ind[rows, kk - 1 : kk]
                dist[rows, kk:] = dist[rows, kk - 1 : kk]
    finally:
        torch.set_num_threads(old_threads)
    return dist, ind
