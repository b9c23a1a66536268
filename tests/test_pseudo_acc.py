"""train/pseudo_acc is logged only where true labels of unlabeled examples are really known."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import blobs

from semisup.algorithms.base import ssl_logs
from semisup.config import RunConfig
from semisup.engine.metrics import Meter
from semisup.engine.setup import prepare_data
from semisup.run import fit


def cfg(includes_labeled=True, steps=10):
    return RunConfig.from_dict(
        {
            "algorithm": {"name": "fixmatch"},
            "net": {"name": "mlp", "hidden": [16]},
            "data": {"batch_size": 8, "mu": 2, "unlabeled_includes_labeled": includes_labeled},
            "train": {
                "steps": steps,
                "log_every": 5,
                "eval_every": 10,
                "checkpoint_every": 10,
                "progress": False,
            },
        }
    )


def pseudo_acc(u_true: torch.Tensor, pseudo: torch.Tensor) -> float | None:
    meter = Meter()
    meter.add(ssl_logs(torch.tensor(0.0), pseudo=pseudo, u_true=u_true))
    return meter.compute().get("train/pseudo_acc")


@pytest.mark.parametrize("includes_labeled", [True, False])
def test_a_users_file_with_minus_one_labels_knows_no_true_label(includes_labeled):
    data = replace(blobs(), y_true=None)  # as loaded from a user's .npz/.csv: y has -1, nothing else known
    t = prepare_data(data, cfg(includes_labeled), torch.device("cpu"))
    assert (t.u_true == -1).all()
    # before the fix the pool's labeled examples carried their own labels: pseudo_acc read 1.000
    assert pseudo_acc(t.u_true, torch.zeros_like(t.u_true)) is None  # absent, not 0 or NaN


@pytest.mark.parametrize("includes_labeled", [True, False])
def test_hidden_labels_are_scored_and_the_labeled_examples_are_not(includes_labeled):
    data = blobs()  # 12 labeled of 120; the true labels of the other 108 are known
    t = prepare_data(data, cfg(includes_labeled), torch.device("cpu"))
    lab = data.y >= 0
    pool = np.ones(120, bool) if includes_labeled else ~lab
    expected = np.where(lab, -1, data.y_true)[pool]
    assert torch.equal(t.u_true, torch.as_tensor(expected))
    assert int((t.u_true >= 0).sum()) == 108
    # pseudo-labels right on exactly the first half of the known ones: 0.5, whatever the labeled ones say
    pseudo = t.u_true.clone()
    known = torch.nonzero(t.u_true >= 0).ravel()
    pseudo[known[54:]] = (pseudo[known[54:]] + 1) % 3
    assert pseudo_acc(t.u_true, pseudo) == pytest.approx(0.5)


def columns(run):
    with open(run / "metrics.csv", newline="") as f:
        return set(next(csv.reader(f)))


def test_metrics_csv_has_pseudo_acc_only_when_known(tmp_path):
    fit(cfg(), tmp_path / "user", data=replace(blobs(), y_true=None))
    builtin = cfg()
    builtin.algorithm_args.threshold = 0.5  # some pseudo-labels pass the mask within 10 steps on any seed
    fit(builtin, tmp_path / "builtin", data=blobs())
    assert "train/mask_ratio" in columns(tmp_path / "user")
    assert "train/pseudo_acc" not in columns(tmp_path / "user")
    assert "train/pseudo_acc" in columns(tmp_path / "builtin")
