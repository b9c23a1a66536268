"""Long-tailed splits: exact class counts per distribution and seed, balanced test split, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from semisup.config import ConfigError, DataConfig, ImbalanceConfig, RunConfig
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.imbalance import largest_unlabeled_head, long_tailed, long_tailed_counts, unlabeled_counts
from semisup.data.load import load_dataset


def darp_counts(max_num: int, gamma: float, C: int) -> list[int]:
    """DARP's make_imb_data, transcribed: mu = γ^(−1/(C−1)), int(max · mu^i), the last int(max / γ)."""
    mu = np.power(1 / gamma, 1 / (C - 1))
    return [int(max_num * np.power(mu, i)) if i < C - 1 else int(max_num / gamma) for i in range(C)]


@pytest.mark.parametrize(
    ("head", "gamma"), [(1500, 100), (1500, 10), (100, 10), (100, 20), (40, 20), (3000, 1)]
)
def test_counts_follow_darps_protocol(head, gamma):
    assert long_tailed_counts(head, gamma, 10).tolist() == darp_counts(head, gamma, 10)
    assert long_tailed_counts(1500, 100, 10).tolist() == [1500, 899, 539, 323, 193, 116, 69, 41, 25, 15]


def test_unlabeled_distributions():
    assert unlabeled_counts(100, 10, "consistent", 4).tolist() == [100, 46, 21, 10]
    assert unlabeled_counts(100, 10, "reversed", 4).tolist() == [10, 21, 46, 100]
    assert unlabeled_counts(100, 10, "uniform", 4).tolist() == [100] * 4


# digits (training split 124 127 124 128 127 127 127 125 122 126), N_1 = 40, γ_l = γ_u = 20:
# labels 40 28 20 14 10 7 5 3 2 2; the largest consistent pool has M_1 = 124 - 40 = 84, the largest
# reversed one M_1 = 126 - 2 = 124 (class 9 becomes the pool's head).
LABELS = [40, 28, 20, 14, 10, 7, 5, 3, 2, 2]
POOLS = {
    "consistent": [84, 60, 43, 30, 22, 15, 11, 8, 5, 4],
    "uniform": [84] * 10,
    "reversed": [6, 8, 12, 16, 23, 32, 45, 63, 88, 124],
}


@pytest.mark.parametrize("dist", list(POOLS))
@pytest.mark.parametrize("seed", [0, 1])
def test_digits_exact_counts_per_distribution_and_seed(dist, seed):
    cfg = DataConfig(name="digits", labels_per_class=40, imbalance=ImbalanceConfig(20.0, None, dist))
    d = load_dataset(cfg, seed)
    lab = d.y >= 0
    assert np.bincount(d.y[lab], minlength=10).tolist() == LABELS
    assert np.bincount(d.y_true[~lab], minlength=10).tolist() == POOLS[dist]
    assert np.array_equal(d.y[lab], d.y_true[lab])
    assert np.bincount(d.y_test).tolist() == [54, 55, 53, 55, 54, 55, 54, 54, 52, 54]  # test untouched
    again = load_dataset(cfg, seed)
    assert np.array_equal(again.X, d.X) and np.array_equal(again.y, d.y)


def test_seeds_draw_different_examples_and_pool_is_disjoint_from_labels():
    y = np.repeat(np.arange(3), 50)
    X = np.arange(150, dtype=np.float32)[:, None]
    data = SSLDataset(X, y, ["a", "b", "c"])
    a = long_tailed(data, 20, 4.0, distribution="reversed", unlabeled_head=25, seed=0)
    b = long_tailed(data, 20, 4.0, distribution="reversed", unlabeled_head=25, seed=1)
    assert np.bincount(a.y[a.y >= 0]).tolist() == [20, 10, 5]
    assert np.bincount(a.y_true[a.y < 0]).tolist() == [6, 12, 25]
    assert len(np.unique(a.X[:, 0])) == len(a.X) == 20 + 10 + 5 + 6 + 12 + 25
    assert not np.array_equal(a.X, b.X)
    orig = a.X[:, 0].astype(int) // 50  # row i of X holds i: recover the original class
    assert np.array_equal(orig, a.y_true)


def test_largest_pool_fits_every_class():
    avail = np.array([10, 100, 100])
    m1 = largest_unlabeled_head(avail, 4.0, "consistent")
    assert m1 == 10 and np.all(unlabeled_counts(m1, 4.0, "consistent", 3) <= avail)
    assert largest_unlabeled_head(avail, 4.0, "reversed") == 40  # counts 10, 20, 40: class 0 limits it


def test_errors_name_the_fix():
    cfg = DataConfig(name="digits", labels_per_class=4, imbalance=ImbalanceConfig(20.0))
    with pytest.raises(DataError, match="raise labels_per_class to at least 20"):
        load_dataset(cfg, 0)
    cfg = DataConfig(name="digits", labels_per_class=40, imbalance=ImbalanceConfig(10.0, unlabeled_head=500))
    with pytest.raises(DataError, match="lower data.imbalance.unlabeled_head to at most 84"):
        load_dataset(cfg, 0)
    cfg = DataConfig(name="digits", labels_per_class=40, imbalance=ImbalanceConfig(10.0, 5.0, "uniform"))
    with pytest.raises(DataError, match="uniform means"):
        load_dataset(cfg, 0)
    cfg = DataConfig(name="digits", labels_per_class=200, imbalance=ImbalanceConfig(10.0))
    with pytest.raises(DataError, match="lower labels_per_class"):
        load_dataset(cfg, 0)
    cfg = DataConfig(
        name="digits",
        labels_per_class=40,
        mismatch_classes=[9],
        mismatch_fraction=0.5,
        imbalance=ImbalanceConfig(),
    )
    with pytest.raises(DataError, match="drop data.label_fraction and the mismatch keys"):
        load_dataset(cfg, 0)


def test_config_section_and_ranges():
    d = {"algorithm": "supervised", "data": {"labels_per_class": 40, "imbalance": {"labeled_ratio": 20}}}
    cfg = RunConfig.from_dict(d)
    assert cfg.data.imbalance == ImbalanceConfig(labeled_ratio=20.0)
    assert RunConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()  # round-trips through YAML dicts
    with pytest.raises(ConfigError, match=r"data.imbalance.labeled_ratio=0.5 is out of range"):
        RunConfig.from_dict({"data": {"imbalance": {"labeled_ratio": 0.5}}})
    with pytest.raises(ConfigError, match="choose one of consistent, uniform, reversed"):
        RunConfig.from_dict({"data": {"imbalance": {"unlabeled": "flipped"}}})
    with pytest.raises(ConfigError, match="unknown config key 'data.imbalance.ratio'"):
        RunConfig.from_dict({"data": {"imbalance": {"ratio": 3}}})
