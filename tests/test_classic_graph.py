"""The kNN graph: symmetric, nonnegative, zero diagonal, weights equal to the documented formula."""

import importlib.util
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from semisup.classic import build_knn_graph

# 1-D points 0, 1, 3, 6 with k=1: directed edges 0->1 (d=1), 1->0 (d=1), 2->1 (d=2), 3->2 (d=3)
X4 = np.array([[0.0], [1.0], [3.0], [6.0]])


def _dense(W):
    assert sp.isspmatrix_csr(W)
    return W.toarray()


def test_hand_made_four_points_global_median_bandwidth():
    W = _dense(build_knn_graph(X4, n_neighbors=1))
    sigma = np.median([1, 1, 2, 3])  # 1.5
    g = lambda d: np.exp(-(d**2) / (2 * sigma**2))  # noqa: E731
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = g(1)
    expected[1, 2] = expected[2, 1] = g(2)  # only 2 lists 1; "max" keeps the edge both ways
    expected[2, 3] = expected[3, 2] = g(3)
    np.testing.assert_allclose(W, expected, rtol=1e-12)


def test_hand_made_four_points_mean_symmetrization_halves_one_way_edges():
    W = _dense(build_knn_graph(X4, n_neighbors=1, symmetrize="mean", bandwidth=1.0))
    g = lambda d: np.exp(-(d**2) / 2)  # noqa: E731
    assert W[0, 1] == pytest.approx(g(1))  # mutual edge: mean of two equal weights
    assert W[1, 2] == pytest.approx(g(2) / 2) and W[2, 1] == pytest.approx(g(2) / 2)
    assert W[2, 3] == pytest.approx(g(3) / 2)


def test_hand_made_four_points_local_bandwidth():
    W = _dense(build_knn_graph(X4, n_neighbors=1, bandwidth="local"))
    s = np.array([1.0, 1.0, 2.0, 3.0])  # distance to each point's 1st neighbour
    assert W[0, 1] == pytest.approx(np.exp(-1 / (2 * s[0] * s[1])))
    assert W[2, 1] == pytest.approx(np.exp(-4 / (2 * s[2] * s[1])))
    assert W[3, 2] == pytest.approx(np.exp(-9 / (2 * s[3] * s[2])))


def test_connectivity_kernel_is_binary():
    W = _dense(build_knn_graph(X4, n_neighbors=1, kernel="connectivity"))
    assert set(np.unique(W)) == {0.0, 1.0} and W.sum() == 6


@pytest.mark.parametrize("symmetrize", ["max", "mean"])
@pytest.mark.parametrize("bandwidth", ["median", "local", 0.7])
def test_random_graph_invariants(symmetrize, bandwidth):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    k = 6
    W = build_knn_graph(X, k, symmetrize=symmetrize, bandwidth=bandwidth)
    assert (abs(W - W.T)).max() < 1e-15
    assert W.data.min() > 0 and W.data.max() <= 1
    assert np.all(W.diagonal() == 0)
    assert W.nnz <= 2 * 200 * k
    assert np.all(np.diff(W.indptr) >= k)  # every point keeps its own k neighbours


def test_duplicates_and_tiny_inputs():
    X = np.zeros((5, 3))  # all distances 0: the bandwidth falls back to 1.0, weights are 1
    W = build_knn_graph(X, 2)
    assert np.all(W.data == 1) and np.all(W.diagonal() == 0)
    W = build_knn_graph(np.array([[0.0], [1.0]]), n_neighbors=10)  # k clipped to N - 1
    assert W.nnz == 2
    with pytest.raises(ValueError, match="n_samples = 1"):
        build_knn_graph(np.zeros((1, 2)), 3)


def test_sparse_input_matches_dense():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    np.testing.assert_allclose(
        build_knn_graph(sp.csr_matrix(X), 5).toarray(), build_knn_graph(X, 5).toarray()
    )


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss-cpu not installed")
def test_faiss_graph_close_to_exact():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8)).astype(np.float32)
    exact = build_knn_graph(X, 10, approximate=False)
    approx = build_knn_graph(X, 10, approximate=True)
    assert (abs(approx - approx.T)).max() < 1e-12 and np.all(approx.diagonal() == 0)
    recall = (exact.multiply(approx) > 0).nnz / exact.nnz
    assert recall > 0.95


@pytest.fixture
def no_ann(monkeypatch):
    """Simulate a platform without the faiss wheel (and without pynndescent): their imports fail."""
    from semisup.classic import graph

    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` raises ImportError
    monkeypatch.setitem(sys.modules, "pynndescent", None)
    monkeypatch.setattr(graph, "_warned_fallback", False)
    monkeypatch.setattr(graph, "APPROXIMATE_MIN_SAMPLES", 100)  # "large" from 100 points on
    return graph


def test_missing_faiss_warns_once_loudly_and_falls_back_to_the_exact_graph(no_ann):
    from semisup.classic import LabelSpreading, SlowNeighbourSearchWarning

    assert no_ann.ann_backend() is None
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = np.full(150, -1)
    y[:5], y[-5:] = 0, 1
    with pytest.warns(SlowNeighbourSearchWarning, match=r"150 points.*EXACT.*pip install faiss-cpu") as rec:
        fallback = LabelSpreading().fit(X, y)
    assert rec[0].filename == __file__  # points at the user's fit call
    assert "16 minutes instead of 39 s" in str(rec[0].message)
    exact = LabelSpreading(approximate=False).fit(X, y)
    assert (fallback.graph_ != exact.graph_).nnz == 0
    with warnings.catch_warnings():  # once per process: the second large fit is silent
        warnings.simplefilter("error", SlowNeighbourSearchWarning)
        build_knn_graph(X, 10, approximate=True)


def test_no_fallback_warning_below_the_approximate_size_or_when_asked_for_exact(no_ann):
    X = np.random.default_rng(0).normal(size=(99, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_knn_graph(X, 5)  # 99 < 100: exact by choice
        build_knn_graph(np.r_[X, X[:1] + 1], 5, approximate=False)
    assert no_ann._warned_fallback is False


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss-cpu not installed")
def test_faiss_is_a_default_dependency_and_is_used(monkeypatch):
    from pathlib import Path

    from semisup.classic import graph

    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()  # no tomllib on Python 3.10
    deps = text.split("\ndependencies = [", 1)[1].split("]", 1)[0]
    assert '"faiss-cpu>=' in deps
    assert graph.ann_backend() == "faiss"
    monkeypatch.setattr(graph, "APPROXIMATE_MIN_SAMPLES", 100)
    monkeypatch.setattr(graph, "_warned_fallback", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", graph.SlowNeighbourSearchWarning)
        _, _, nn = graph.knn_search(np.random.default_rng(0).normal(size=(300, 4)), 5)
    assert nn is None  # the approximate path ran
