"""semisup.ssl_check: k-fold comparison of SSL and supervised training on the labeled examples."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import blobs

import semisup
from semisup.check import SSLCheckWarning, ssl_check
from semisup.config import ConfigError
from semisup.data.dataset import DataError


def blob_cfg(algorithm: str = "pseudo_label", **train) -> semisup.RunConfig:
    return semisup.RunConfig.from_dict(
        {
            "algorithm": algorithm,
            "net": {"name": "mlp", "hidden": [16]},
            "data": {"name": "blobs", "batch_size": 8, "mu": 2},
            "train": {"steps": 30, "progress": False, "ema_decay": 0.0, **train},
        }
    )


def test_warns_when_supervised_is_already_perfect():
    # Separated blobs: 4 labels per class already give every held-out label right, so SSL cannot be
    # ahead beyond noise (no example where the two disagree) -> the warning fires.
    with pytest.warns(SSLCheckWarning, match="SSL likely does not help here: pseudo_label ties"):
        r = ssl_check(blob_cfg(), folds=2, steps=10, data=blobs(), verbose=False)
    assert r.warn and r.n_heldout == 12 and r.folds == 2 and r.repeats == 1
    assert r.acc_supervised == 1.0 and r.acc_ssl == 1.0 and r.wins == 0 and r.losses == 0
    assert len(r.fold_acc_diff) == 2 and r.fold_acc_diff == [0.0, 0.0]
    assert r.p_value == 1.0 and r.alpha == 0.1


def test_repeats_hold_each_label_out_repeats_times():
    with pytest.warns(SSLCheckWarning):
        r = ssl_check(blob_cfg(), folds=2, steps=5, repeats=2, data=blobs(), verbose=False)
    assert r.n_heldout == 24 and len(r.fold_acc_diff) == 4


def test_errors_name_the_fix():
    with pytest.raises(ConfigError, match="uses no unlabeled data"):
        ssl_check(blob_cfg("supervised"), data=blobs())
    with pytest.raises(DataError, match="use folds <= 4"):
        ssl_check(blob_cfg(), folds=5, data=blobs())
    with pytest.raises(ConfigError, match="folds >= 2"):
        ssl_check(blob_cfg(), folds=1, data=blobs())


def test_pretraining_hook_writes_the_result(tmp_path):
    cfg = blob_cfg(steps=5, check_ssl=True, check_folds=2, check_steps=5)
    with pytest.warns(SSLCheckWarning):
        semisup.fit(cfg, tmp_path / "run", data=blobs())
    saved = json.loads((tmp_path / "run" / "ssl_check.json").read_text())
    assert saved["n_heldout"] == 12 and saved["steps"] == 5 and saved["warn"] is True


@pytest.mark.slow
def test_no_warning_on_moons_where_pi_model_wins():
    # Two moons, 8 labels: the Π-model reaches ~99.5 % test accuracy, supervised ~85 %. Folds of 2
    # (2 labels per class left to train on) repeated 3 times give 24 paired held-out predictions.
    from semisup.demo import demo_config

    r = ssl_check(demo_config("pi_model", 300, 0), folds=2, steps=300, repeats=3, verbose=False)
    assert not r.warn and r.mean_diff > 0 and r.wins > r.losses
    assert np.isfinite(r.t)
