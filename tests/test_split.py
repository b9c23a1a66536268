import numpy as np
import pytest

from semisup.data.dataset import DataError
from semisup.data.split import select_labeled


def test_exact_count_per_class_and_deterministic():
    y = np.repeat(np.arange(5), 30)
    a = select_labeled(y, labels_per_class=4, seed=1)
    b = select_labeled(y, labels_per_class=4, seed=1)
    c = select_labeled(y, labels_per_class=4, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.all(np.bincount(y[a], minlength=5) == 4)
    assert len(np.unique(a)) == len(a) and np.all(np.diff(a) > 0)


def test_fraction_is_stratified_and_at_least_one():
    y = np.array([0] * 100 + [1] * 10 + [2] * 3)
    idx = select_labeled(y, fraction=0.1, seed=0)
    assert np.bincount(y[idx]).tolist() == [10, 1, 1]


def test_never_picks_unlabeled():
    y = np.array([-1] * 50 + [0] * 5 + [1] * 5)
    idx = select_labeled(y, labels_per_class=5, seed=0)
    assert np.all(y[idx] >= 0) and len(idx) == 10


def test_errors_name_the_fix():
    y = np.array([0] * 10 + [1] * 2)
    with pytest.raises(DataError, match="class 'b' has 2 examples but labels_per_class=3; lower"):
        select_labeled(y, labels_per_class=3, classes=["a", "b"])
    with pytest.raises(DataError, match="exactly one"):
        select_labeled(y)
    with pytest.raises(DataError, match="exactly one"):
        select_labeled(y, labels_per_class=1, fraction=0.5)
