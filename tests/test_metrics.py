"""metrics.csv: appended at constant cost, one row per step, cut back exactly on resume; train.loggers."""

from __future__ import annotations

import csv
import importlib.util

import pytest
import torch
from conftest import blobs

from semisup.config import ConfigError, RunConfig
from semisup.engine.metrics import Meter, MetricsCSV
from semisup.plots.run import read_metrics
from semisup.run import fit


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_log_and_eval_at_one_step_share_a_row_and_declared_columns_need_no_rewrite(tmp_path):
    log = MetricsCSV(tmp_path, columns=["val/acc"])
    log.log_metrics({"train/loss": 0.5, "lr": 0.1}, step=5)
    log.commit()
    before = log.path.read_bytes()
    log.log_metrics({"train/loss": 0.25, "lr": 0.05}, step=10)
    log.log_metrics({"val/acc": 0.75}, step=10)  # evaluation after the log of the same step
    log.commit()
    after = log.path.read_bytes()
    assert after.startswith(before)  # appended: the earlier bytes are untouched
    assert after[len(before) :] == b"10,0.25,0.05,0.75\r\n"  # exactly one new line
    assert before == b"step,train/loss,lr,val/acc\r\n5,0.5,0.1,\r\n"
    log.finalize("success")


def test_a_key_nobody_declared_is_added_without_losing_rows(tmp_path):
    log = MetricsCSV(tmp_path)
    log.log_metrics({"a": 1.0}, step=1)
    log.log_metrics({"a": 2.0, "b": 3.5}, step=2)
    log.finalize("success")
    assert rows(log.path) == [{"step": "1", "a": "1", "b": ""}, {"step": "2", "a": "2", "b": "3.5"}]


def test_resume_cuts_at_the_recorded_byte_offset(tmp_path):
    log = MetricsCSV(tmp_path, columns=["val/acc"])
    for step in range(1, 6):
        log.log_metrics({"train/loss": 1 / step}, step=step)
    position = log.flush()  # what a checkpoint at step 5 records
    kept = log.path.read_bytes()
    for step in range(6, 9):  # logged by the stopped run after its checkpoint
        log.log_metrics({"train/loss": 1 / step}, step=step)
    log.finalize("failed")
    assert position["offset"] == len(kept)

    again = MetricsCSV(tmp_path, columns=["val/acc"])
    again.resume(5, position)
    assert again.path.read_bytes() == kept
    again.log_metrics({"train/loss": 0.1}, step=6)
    again.finalize("success")
    assert [r["step"] for r in rows(again.path)] == ["1", "2", "3", "4", "5", "6"]


def test_resume_without_a_recorded_offset_filters_rows_by_step(tmp_path):
    log = MetricsCSV(tmp_path)
    for step in (5, 10, 15):
        log.log_metrics({"x": float(step)}, step=step)
    log.finalize("failed")
    again = MetricsCSV(tmp_path)
    again.resume(10, None)  # a checkpoint written before offsets were recorded
    assert [r["step"] for r in rows(again.path)] == ["5", "10"]
    fresh = MetricsCSV(tmp_path)
    fresh.resume(0, None)  # a new run over a folder killed before its first checkpoint
    assert rows(fresh.path) == []


def test_run_metrics_read_by_plots_and_pandas(tmp_path):
    cfg = RunConfig.from_dict(
        {
            "algorithm": "fixmatch",
            "net": {"name": "mlp", "hidden": [16]},
            "data": {"batch_size": 8, "mu": 2},
            "train": {"steps": 12, "log_every": 3, "eval_every": 6, "progress": False},
        }
    )
    fit(cfg, tmp_path / "run", data=blobs())
    m = read_metrics(tmp_path / "run")
    assert list(m["val/acc"][0]) == [6.0, 12.0] and list(m["train/loss"][0]) == [3.0, 6.0, 9.0, 12.0]
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert df["step"].tolist() == [3, 6, 9, 12] and df["val/acc"].notna().tolist() == [False, True] * 2


def test_unknown_or_repeated_logger_is_a_config_error():
    with pytest.raises(ConfigError, match=r"train.loggers=\['wandb'\].*csv, tensorboard"):
        RunConfig.from_dict({"train": {"loggers": ["wandb"]}})
    with pytest.raises(ConfigError, match="at most once"):
        RunConfig.from_dict({"train": {"loggers": ["csv", "csv"]}})


def test_tensorboard_without_the_package_says_how_to_install(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda n, *a: None if n in ("tensorboard", "tensorboardX") else real(n, *a),
    )
    cfg = RunConfig.from_dict({"net": "mlp", "train": {"steps": 2, "loggers": ["csv", "tensorboard"]}})
    with pytest.raises(ConfigError, match="pip install tensorboard"):
        fit(cfg, tmp_path / "tb", data=blobs())


def test_tensorboard_logger_writes_events_beside_the_csv(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = RunConfig.from_dict(
        {
            "algorithm": "supervised",
            "net": {"name": "mlp", "hidden": [8]},
            "train": {"steps": 6, "log_every": 2, "eval_every": 3, "loggers": ["csv", "tensorboard"]},
        }
    )
    cfg.train.progress = False
    fit(cfg, tmp_path / "run", data=blobs())
    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/loss")] == [2, 4, 6]
    assert [e.step for e in acc.Scalars("val/acc")] == [3, 6]
    assert [int(r["step"]) for r in rows(tmp_path / "run" / "metrics.csv")] == [2, 3, 4, 6]


def test_meter_state_round_trips_tensors():
    m = Meter()
    m.add({"a": torch.tensor(1.5), "r": (torch.tensor(2.0), torch.tensor(4.0))})
    other = Meter()
    other.load_state_dict(m.state_dict())
    other.add({"a": torch.tensor(0.5), "r": (torch.tensor(1.0), torch.tensor(0.0))})
    assert other.compute() == {"a": 1.0, "r": 0.75}
