"""Class mismatch in the split layer: exact pool composition, renumbered classes, restricted test set."""

from __future__ import annotations

import numpy as np
import pytest

from semisup.config import DataConfig
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.load import load_dataset
from semisup.data.mismatch import class_mismatch

MIS = [6, 7, 8, 9]


def digits(fraction: float, seed: int = 0, **kw) -> SSLDataset:
    cfg = DataConfig(
        name="digits", labels_per_class=4, mismatch_classes=MIS, mismatch_fraction=fraction, **kw
    )
    return load_dataset(cfg, seed)


@pytest.mark.parametrize(("fraction", "n_mis"), [(0.0, 0), (0.25, 125), (0.5, 250), (0.75, 375), (1.0, 500)])
def test_digits_pool_composition(fraction, n_mis):
    d = digits(fraction)
    # digits train split: classes 6-9 hold 500 examples, classes 0-5 757 (733 after 24 labels),
    # so the default pool is min(733, 500) = 500 at every fraction.
    unl = d.y < 0
    assert d.classes == ["0", "1", "2", "3", "4", "5"]
    assert d.n_labeled == 24 and np.bincount(d.y[~unl]).tolist() == [4] * 6
    assert d.n_unlabeled == 500 and len(d.X) == 524
    assert int((d.y_true[unl] == -1).sum()) == n_mis  # mismatch examples have no class of the model
    assert np.all(d.y_true[unl & (d.y_true >= 0)] < 6)
    assert np.bincount(d.y_test).tolist() == [54, 55, 53, 55, 54, 55]  # test: classes 0-5 only


def test_same_labels_at_every_fraction_and_seeded():
    a, b = digits(0.0), digits(0.75)
    la, lb = a.X[a.y >= 0], b.X[b.y >= 0]
    assert np.array_equal(la, lb)  # only the pool's composition changes
    again, other = digits(0.5), digits(0.5, seed=1)
    assert np.array_equal(again.X, digits(0.5).X) and not np.array_equal(again.X, other.X)


def test_small_case_exact_numbers_and_renumbering():
    # classes 0,1,2 with 10 examples each; class 1 is the mismatch class -> known 0, 2 become 0, 1
    y = np.repeat(np.arange(3), 10)
    X = np.arange(30, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    data = SSLDataset(X, y, ["a", "b", "c"], X_test=X[:6], y_test=np.array([0, 1, 2, 0, 1, 2]))
    d = class_mismatch(data, [1], fraction=0.4, labels_per_class=2, seed=3, pool_size=5)
    assert d.classes == ["a", "c"] and d.n_labeled == 4 and d.n_unlabeled == 5
    assert np.bincount(d.y[d.y >= 0]).tolist() == [2, 2]
    unl = d.y < 0
    assert int((d.y_true[unl] == -1).sum()) == 2  # round(0.4 * 5)
    orig = d.X[:, 0].astype(int) // 10  # row i of X holds value i: recover the original class
    assert np.array_equal(orig[d.y_true == -1], [1, 1]) and set(orig[d.y_true == 1]) == {2}
    assert d.y_test.tolist() == [0, 1, 0, 1]  # test keeps a and c, renumbered
    # default pool size: min(16 known left, 10 mismatch) = 10
    assert class_mismatch(data, [1], 0.5, labels_per_class=2).n_unlabeled == 10


def test_ceiling_labels_every_known_example():
    d = load_dataset(
        DataConfig(name="digits", labels_per_class=None, mismatch_classes=MIS, mismatch_fraction=0.0), 0
    )
    assert d.n_labeled == 757 and d.n_unlabeled == 0


def test_errors_name_the_fix():
    with pytest.raises(DataError, match="both data.mismatch_classes"):
        load_dataset(DataConfig(name="digits", mismatch_classes=MIS), 0)
    with pytest.raises(DataError, match=r"\[12\] are not class ids"):
        load_dataset(DataConfig(name="digits", mismatch_classes=[12], mismatch_fraction=0.5), 0)
    with pytest.raises(DataError, match="at least two must remain"):
        load_dataset(DataConfig(name="digits", mismatch_classes=list(range(1, 10)), mismatch_fraction=0.5), 0)
    with pytest.raises(DataError, match="must be in \\[0, 1\\]"):
        digits(1.5)
    with pytest.raises(DataError, match="lower data.mismatch_pool_size"):
        digits(1.0, mismatch_pool_size=600)


def test_training_uses_known_classes_only(tmp_path):
    import semisup

    cfg = semisup.RunConfig.from_dict(
        {
            "algorithm": "fixmatch",
            "net": {"name": "cnn", "width": 4},
            "data": {"name": "digits", "labels_per_class": 2, "batch_size": 8, "mu": 2,
                     "mismatch_classes": MIS, "mismatch_fraction": 0.5},
            "train": {"steps": 3, "eval_every": 3, "progress": False},
        }
    )  # fmt: skip
    res = semisup.fit(cfg, tmp_path / "run")
    assert res.summary["n_labeled"] == 12 and res.summary["n_unlabeled"] == 500
    pred = semisup.load(tmp_path / "run")
    assert pred.classes_.tolist() == [0, 1, 2, 3, 4, 5]  # integer class names come back as ints
    assert pred.predict_proba(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 6)
