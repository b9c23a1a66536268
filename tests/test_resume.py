"""Exact, self-contained resume: nothing read from outside the run folder, weights-only loads, fp16's
GradScaler state and skipped steps, and a killed-then-resumed 2-process run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import blobs

from semisup.config import RunConfig
from semisup.engine.callbacks import Callback
from semisup.engine.checkpoint import CKPT_NAME
from semisup.engine.fabric import Fabric
from semisup.engine.trainer import NonFiniteLossError, Trainer
from semisup.run import fit


class Kill(Callback):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_batch_end(self, trainer, step, batch, loss, logs):
        if step + 1 == self.at:
            raise KeyboardInterrupt


def cfg(algorithm: str = "fixmatch", steps: int = 20, args: dict | None = None, **extra) -> RunConfig:
    algo = {"name": algorithm, **(args or {})}
    train = {"steps": steps, "log_every": 5, "eval_every": 10, "checkpoint_every": 7, "progress": False}
    return RunConfig.from_dict(
        {
            "algorithm": algo,
            "net": {"name": "mlp", "hidden": [16]},
            "data": {"batch_size": 8, "mu": 2},
            "train": {**train, **extra},
        }
    )


def test_resume_reads_neither_the_init_source_nor_the_teacher(tmp_path):
    data = blobs()
    teacher = tmp_path / "teacher"
    fit(cfg("supervised", steps=10), teacher, data=data)
    student = cfg("distill", args={"teacher": str(teacher)}, init=str(teacher))
    full = fit(student, tmp_path / "full", data=data)
    with pytest.raises(KeyboardInterrupt):
        fit(student, tmp_path / "cut", data=data, callbacks=[Kill(12)])
    teacher.rename(tmp_path / "elsewhere")  # both the init source and the distillation teacher are gone
    resumed = fit(student, tmp_path / "cut", data=data, resume=True)
    metrics = (tmp_path / "full" / "metrics.csv").read_text()
    assert (tmp_path / "cut" / "metrics.csv").read_text() == metrics
    assert resumed.summary["test_accuracy"] == full.summary["test_accuracy"]
    assert json.loads((tmp_path / "cut" / "init.json").read_text())["source"] == str(teacher)


def test_every_checkpoint_load_is_weights_only(tmp_path, monkeypatch):
    fit(cfg(steps=8), tmp_path / "run", data=blobs())
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / CKPT_NAME, weights_only=True)
    assert ckpt["metrics_position"]["offset"] == (tmp_path / "run" / "metrics.csv").stat().st_size
    assert ckpt["precision"] == {} and ckpt["skipped_steps"] == 0  # fp32: no scaler state
    seen = []
    real = Fabric.load

    def spy(self, path, state=None, strict=True, *, weights_only=None):
        seen.append(weights_only)
        return real(self, path, state, strict, weights_only=weights_only)

    monkeypatch.setattr(Fabric, "load", spy)
    fit(cfg(steps=8), tmp_path / "run", data=blobs(), resume=True)
    assert seen == [True]


def nan_at(trainer: Trainer, step: int) -> None:
    """Make the loss NaN at ``step`` (through the graph, so the gradients are NaN too)."""
    inner = trainer.algorithm.training_step

    def step_fn(model, batch, ctx):
        loss, logs = inner(model, batch, ctx)
        return (loss * float("nan") if ctx.step == step else loss), logs

    trainer.algorithm.training_step = step_fn


def fp16_trainer(out, resume: bool = False, steps: int = 12) -> Trainer:
    from lightning_fabric.plugins import MixedPrecision

    # AMP with fp16 is a CUDA feature in Fabric's defaults; the plugin runs the same GradScaler on CPU.
    fabric = Fabric(accelerator="cpu", devices=1, plugins=[MixedPrecision("16-mixed", "cpu")])
    c = cfg(steps=steps, checkpoint_every=4)
    c.algorithm_args.threshold = 0.5
    return Trainer(c, fabric, out, blobs(), resume=resume)


def test_fp16_skips_and_counts_non_finite_steps_and_saves_the_scaler(tmp_path):
    trainer = fp16_trainer(tmp_path / "run")
    before = trainer.scaler.get_scale()
    nan_at(trainer, 5)
    summary = trainer.run().summary
    assert summary["train/skipped_steps"] >= 1  # step 5; overflowing early steps may add more
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())  # the NaN step was skipped
    scale = trainer.scaler.get_scale()
    assert scale < before
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / CKPT_NAME, weights_only=True)
    assert ckpt["precision"]["scale"] == scale
    assert ckpt["skipped_steps"] == summary["train/skipped_steps"]
    again = fp16_trainer(tmp_path / "run", resume=True)
    assert again.scaler.get_scale() == scale and int(again.skipped_steps) == summary["train/skipped_steps"]


def test_fp32_non_finite_loss_stops_with_a_message_and_no_poisoned_checkpoint(tmp_path):
    c = cfg(steps=20, checkpoint_every=4)
    fabric = Fabric(accelerator="cpu", devices=1)
    trainer = Trainer(c, fabric, tmp_path / "run", blobs())
    nan_at(trainer, 5)
    with pytest.raises(NonFiniteLossError, match=r"nan or inf between steps 5 and 8 .*optim.lr"):
        trainer.run()
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / CKPT_NAME, weights_only=True)
    assert ckpt["step"] == 4
    assert all(math.isfinite(float(v.float().abs().sum())) for v in ckpt["model"].values())


DDP_SCRIPT = textwrap.dedent(
    """
    import sys
    from semisup.config import RunConfig
    from semisup.engine.callbacks import Callback
    from semisup.run import fit, resume

    class Kill(Callback):
        def on_train_batch_end(self, trainer, step, batch, loss, logs):
            # log_every 3 with checkpoints every 4: the step-8 checkpoint holds a partial log window (steps
            # 7-8) of every rank, which the resumed run must pool exactly as the uninterrupted one
            if step + 1 == 10:  # step 9 was logged after the checkpoint at step 8; on every rank
                raise KeyboardInterrupt

    if __name__ == "__main__":
        mode, out = sys.argv[1], sys.argv[2]
        cfg = RunConfig.from_dict({
            "algorithm": "flexmatch", "net": {"name": "mlp", "hidden": [16]},
            "data": {"name": "moons", "labels_per_class": 4, "batch_size": 4, "mu": 2},
            "train": {"steps": 12, "eval_every": 4, "checkpoint_every": 4, "log_every": 3, "progress": False},
            "fabric": {"accelerator": "cpu", "devices": 2, "strategy": "ddp"},
        })
        if mode == "resume":
            resume(out)
        else:
            fit(cfg, out, callbacks=[Kill()] if mode == "cut" else [])
    """
)


def test_killed_then_resumed_two_process_run_matches_an_uninterrupted_one(tmp_path):
    script = tmp_path / "ddp_resume.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

    def launch(mode: str, out: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(script), mode, str(tmp_path / out)]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)

    full = launch("full", "full")
    assert full.returncode == 0, full.stderr[-3000:]
    cut = launch("cut", "cut")
    assert cut.returncode != 0 and "KeyboardInterrupt" in cut.stderr
    rows = (tmp_path / "cut" / "metrics.csv").read_text().splitlines()
    assert rows[-1].startswith("9,")  # logged past the checkpoint at step 8: resume must cut it
    done = launch("resume", "cut")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "cut" / "metrics.csv").read_text() == (tmp_path / "full" / "metrics.csv").read_text()
    a = json.loads((tmp_path / "full" / "summary.json").read_text())
    b = json.loads((tmp_path / "cut" / "summary.json").read_text())
    assert a["world_size"] == b["world_size"] == 2 and a["test_accuracy"] == b["test_accuracy"]
