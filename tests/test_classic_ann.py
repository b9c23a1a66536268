"""The IVF self-join (faiss k-means cells + one matrix product per cell) against the exact search."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.neighbors import NearestNeighbors

pytest.importorskip("faiss")

from semisup.classic import LabelSpreading, build_knn_graph  # noqa: E402
from semisup.classic.ann import ivf_self_knn  # noqa: E402


def _data(n, seed):
    return make_classification(
        n, n_features=20, n_informative=10, n_classes=5, class_sep=2, random_state=seed
    )


def _exact(X, k):
    return NearestNeighbors(n_neighbors=k).fit(X).kneighbors()


def test_probing_every_cell_is_exact():
    X = np.random.default_rng(0).normal(size=(600, 5))
    d_ex, i_ex = _exact(X, 7)
    d, i = ivf_self_knn(X, 7, cell_size=50, n_probe=1000)  # 12 cells, all probed
    np.testing.assert_allclose(d, d_ex, rtol=1e-4, atol=1e-4)  # float32 products
    assert (i == i_ex).mean() > 0.999  # ties aside, the same neighbours in the same order


def test_rows_sorted_never_self_and_recall_on_clustered_data():
    X, _ = _data(3000, 0)
    d, i = ivf_self_knn(X, 10, cell_size=64, n_probe=8, seed=0)
    assert d.shape == i.shape == (3000, 10)
    assert not (i == np.arange(3000)[:, None]).any()
    assert (np.diff(d, axis=1) >= -1e-6).all()
    # reported distances are the true distances of the reported neighbours
    np.testing.assert_allclose(d, np.linalg.norm(X[i] - X[:, None], axis=2), rtol=1e-4, atol=1e-4)
    _, i_ex = _exact(X, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i, i_ex, strict=True)])
    assert 0.7 < recall < 1.0  # approximate (47 cells, 8 probed), but most neighbours found


def test_tiny_inputs_and_duplicates():
    X = np.zeros((5, 3))
    d, i = ivf_self_knn(X, 4, cell_size=2, n_probe=1)
    assert not (i == np.arange(5)[:, None]).any() and np.all(d == 0)
    with pytest.raises(ValueError, match="k must be in"):
        ivf_self_knn(X, 5)


def test_spreading_on_the_approximate_graph_is_about_as_accurate():
    X, y = _data(3000, 1)
    y_part = np.where(np.random.default_rng(0).random(3000) < 0.05, y, -1)
    u = y_part == -1
    exact = LabelSpreading(approximate=False).fit(X, y_part)
    approx = LabelSpreading(approximate=True).fit(X, y_part)
    acc_ex = (exact.transduction_[u] == y[u]).mean()
    acc_ap = (approx.transduction_[u] == y[u]).mean()
    assert acc_ex > 0.85 and abs(acc_ap - acc_ex) < 0.02
    W = build_knn_graph(X, 10, approximate=True)
    assert abs(W - W.T).max() < 1e-12 and W.diagonal().max() == 0
