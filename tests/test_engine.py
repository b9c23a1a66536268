"""The loop: run folder contents, exact resume, index streams, schedules, bad input before training."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from conftest import blobs

from semisup.config import OptimConfig, RunConfig
from semisup.data.dataset import DataError
from semisup.data.split import select_labeled
from semisup.engine.callbacks import Callback
from semisup.engine.optim import lr_factor, param_groups
from semisup.engine.sampler import IndexStream, step_seed
from semisup.engine.trainer import RunExistsError
from semisup.predictor import load
from semisup.run import fit, resume
from semisup.seeds import STREAMS, stream


def tiny_cfg(algorithm="fixmatch", steps=30, **train) -> RunConfig:
    return RunConfig.from_dict(
        {
            "algorithm": {"name": algorithm},
            "net": {"name": "mlp", "hidden": [32]},
            "data": {"batch_size": 8, "mu": 2},
            "train": {
                "steps": steps,
                "log_every": 5,
                "eval_every": 10,
                "checkpoint_every": 10,
                "progress": False,
                **train,
            },
        }
    )


def read_metrics(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_folder_is_self_describing(tmp_path, blob_data):
    res = fit(tiny_cfg(), tmp_path / "run", data=blob_data)
    run = tmp_path / "run"
    for f in ("config.yaml", "metrics.csv", "summary.json", "checkpoints/last.ckpt"):
        assert (run / f).exists(), f
    s = json.loads((run / "summary.json").read_text())
    for k in ("test_accuracy", "algorithm", "dataset", "labels_per_class", "seed", "steps", "train_seconds"):
        assert k in s
    assert s["steps"] == 30 and 0 <= s["test_accuracy"] <= 1 and s == res.summary
    rows = read_metrics(run / "metrics.csv")
    assert [int(r["step"]) for r in rows] == [5, 10, 15, 20, 25, 30]
    assert rows[1]["val/acc"] != "" and rows[0]["val/acc"] == ""
    assert {"train/sup_loss", "train/unsup_loss", "train/mask_ratio", "train/pseudo_acc", "lr"} <= set(
        rows[0]
    )
    # the saved config rebuilds the same run config, net resolved
    cfg = RunConfig.from_yaml(run / "config.yaml")
    assert cfg.net == "mlp" and cfg.net_args.hidden == (32,)
    # the predictor reproduces the reported test accuracy from the folder alone
    pred = load(run)
    acc = (pred.predict_ids(blob_data.X_test) == blob_data.y_test).mean()
    assert math.isclose(acc, s["test_accuracy"], abs_tol=1e-6)
    proba = pred.predict_proba(blob_data.X_test)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert set(pred.predict(blob_data.X_test[:5])) <= {"c0", "c1", "c2"}


def test_refuses_to_overwrite_a_run(tmp_path, blob_data):
    fit(tiny_cfg(steps=5), tmp_path / "run", data=blob_data)
    with pytest.raises(RunExistsError, match="--resume"):
        fit(tiny_cfg(steps=5), tmp_path / "run", data=blob_data)


class Kill(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, step, batch, loss, logs):
        if step + 1 == self.at:
            raise KeyboardInterrupt


STATEFUL = ["fixmatch", "pi_model", "mean_teacher", "temporal_ensembling", "flexmatch"]


@pytest.mark.parametrize("algorithm", STATEFUL)
def test_killed_run_resumes_exactly(tmp_path, blob_data, algorithm):
    full = fit(tiny_cfg(algorithm, steps=30, checkpoint_every=7), tmp_path / "full", data=blob_data)
    with pytest.raises(KeyboardInterrupt):
        fit(
            tiny_cfg(algorithm, steps=30, checkpoint_every=7),
            tmp_path / "cut",
            data=blob_data,
            callbacks=[Kill(17)],
        )
    # the cut run logged rows past its last checkpoint (step 14); resuming must drop and redo them
    assert max(int(r["step"]) for r in read_metrics(tmp_path / "cut" / "metrics.csv")) == 15
    resumed = fit(
        tiny_cfg(algorithm, steps=30, checkpoint_every=7), tmp_path / "cut", data=blob_data, resume=True
    )
    a, b = read_metrics(tmp_path / "full" / "metrics.csv"), read_metrics(tmp_path / "cut" / "metrics.csv")
    assert a == b
    assert resumed.summary["test_accuracy"] == full.summary["test_accuracy"]


def test_resume_from_folder_uses_saved_config(tmp_path):
    cfg = RunConfig.from_dict(
        {
            "algorithm": "supervised",
            "net": "mlp",
            "data": {"name": "moons", "batch_size": 8},
            "train": {"steps": 12, "checkpoint_every": 4, "progress": False},
        }
    )
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, tmp_path / "r", callbacks=[Kill(6)])
    res = resume(tmp_path / "r")
    assert res.summary["steps"] == 12


def test_index_stream_properties():
    # one epoch over all ranks covers the pool exactly once; ranks are disjoint
    n, bs, world = 24, 4, 2
    streams = [IndexStream(n, bs, seed=0, rank=r, world_size=world) for r in range(world)]
    seen = torch.cat([s.indices(t) for t in range(n // (bs * world)) for s in streams])
    assert sorted(seen.tolist()) == list(range(n))
    # stateless: the same step gives the same indices however we got there
    s = IndexStream(10, 4, seed=3)
    first = [s.indices(t).tolist() for t in range(6)]
    assert IndexStream(10, 4, seed=3).indices(5).tolist() == first[5]
    # batches larger than the pool wrap across epochs
    big = IndexStream(3, 8, seed=0).indices(0)
    assert len(big) == 8 and set(big.tolist()) == {0, 1, 2}


def test_seed_streams_are_independent_children_of_one_seed_sequence():
    """Issue 14: the unlabeled stream was seeded ``seed + 1``, i.e. seed s's unlabeled batches were seed
    s+1's labeled batches. Now every stream is a child of ``SeedSequence(seed)``."""
    pool = 64
    lab = [IndexStream(pool, 8, stream(s, "labeled_batches")) for s in range(4)]
    ulb = [IndexStream(pool, 8, stream(s, "unlabeled_batches")) for s in range(4)]
    first = [[x.indices(t).tolist() for t in range(8)] for x in (*lab, *ulb)]
    assert len({json.dumps(f) for f in first}) == 8  # no stream repeats another, across seeds too
    assert all(ulb[s].indices(0).tolist() != lab[s + 1].indices(0).tolist() for s in range(3))
    # reproducible, and exactly the spawned children of the one SeedSequence
    assert IndexStream(pool, 8, stream(2, "unlabeled_batches")).indices(7).tolist() == first[6][7]
    children = np.random.SeedSequence(5).spawn(len(STREAMS))
    for name, c in zip(STREAMS, children, strict=True):
        assert stream(5, name).generate_state(4).tolist() == c.generate_state(4).tolist()
    # augmentation: one seed per (seed, step, rank), none shared with a neighbouring seed's
    seeds = {step_seed(s, t, r) for s in range(3) for t in range(50) for r in range(2)}
    assert len(seeds) == 300
    # the label draw and the held-out test split are independent streams of the split seed
    y = np.repeat(np.arange(4), 50)
    assert select_labeled(y, labels_per_class=5, seed=1).tolist() == select_labeled(y, 5, seed=1).tolist()
    assert select_labeled(y, labels_per_class=5, seed=1).tolist() != select_labeled(y, 5, seed=2).tolist()


def test_fixmatch_cosine_schedule_and_weight_decay_groups():
    cfg = OptimConfig()
    assert lr_factor(0, 100, cfg) == 1.0
    assert math.isclose(lr_factor(50, 100, cfg), math.cos(7 * math.pi / 32))
    assert math.isclose(lr_factor(2, 100, OptimConfig(warmup_steps=4)), 0.75)
    groups = param_groups(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)), 5e-4)
    assert [len(g["params"]) for g in groups] == [1, 3] and groups[1]["weight_decay"] == 0.0


def test_ssl_without_unlabeled_data_is_refused_before_training(tmp_path, blob_data):
    full = blobs()
    full.y = full.y_true.copy()
    with pytest.raises(DataError, match="no unlabeled example.*--algorithm supervised"):
        fit(tiny_cfg("fixmatch"), tmp_path / "x", data=full)
    assert not (tmp_path / "x").exists()
    fit(tiny_cfg("supervised", steps=3), tmp_path / "y", data=full)


def test_user_module_is_accepted_and_checked(tmp_path, blob_data):
    net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    res = fit(tiny_cfg(steps=5), tmp_path / "u", data=blob_data, net=net)
    assert res.summary["net"] == "custom"
    pred = load(
        tmp_path / "u",
        net=torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)),
    )
    assert pred.predict_proba(blob_data.X_test).shape == (60, 3)
    with pytest.raises(ValueError):
        fit(tiny_cfg(steps=5), tmp_path / "bad", data=blob_data, net=torch.nn.Linear(5, 7))


def test_ssl_beats_supervised_on_blobs_sanity(tmp_path):
    """Not a benchmark: on easy blobs both learn; FixMatch must at least not break learning."""
    data = blobs(n=300, labeled_per_class=2, seed=1)
    cfg = tiny_cfg("fixmatch", steps=150)
    cfg.algorithm_args.threshold = 0.8
    res = fit(cfg, None, data=data)
    assert res.summary["test_accuracy"] >= 0.9


def test_ctrl_c_saves_after_a_whole_step_and_resumes_exactly(tmp_path, capsys):
    """Issue 13: Ctrl-C lost up to checkpoint_every steps and printed a traceback. Now the step in flight
    finishes, a checkpoint is written, the CLI prints the resume command, and the resumed run ends with
    the same metrics as an uninterrupted one."""
    import os
    import signal

    from semisup.cli import main
    from semisup.engine.callbacks import Callback
    from semisup.engine.trainer import RunInterrupted

    class CtrlCAt(Callback):
        def on_train_batch_end(self, trainer, step, batch, loss, logs):
            if step == 6:
                os.kill(os.getpid(), signal.SIGINT)

    train = {"steps": 20, "eval_every": 5, "log_every": 1, "checkpoint_every": 100, "progress": False}
    d = {"algorithm": "fixmatch", "data": {"name": "moons", "batch_size": 8}, "seed": 0, "train": train}
    fit(RunConfig.from_dict(d), tmp_path / "full")
    with pytest.raises(RunInterrupted) as info:
        fit(RunConfig.from_dict(d), tmp_path / "cut", callbacks=[CtrlCAt()])
    assert info.value.step == 7 and (tmp_path / "cut" / "checkpoints" / "last.ckpt").exists()
    assert main(["train", "--resume", str(tmp_path / "cut")]) == 0
    full = (tmp_path / "full" / "metrics.csv").read_text()
    assert (tmp_path / "cut" / "metrics.csv").read_text() == full
