"""Two CPU processes (gloo) through Fabric: different batches per rank, identical weights every step;
synchronized BatchNorm (GPUs only: refused on CPU processes) and logs pooled over ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from semisup.collective import Collective

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import semisup.algorithms, semisup.nets, semisup.data.builtin
    from semisup.config import RunConfig
    from semisup.engine.callbacks import Callback
    from semisup.run import fit

    class Check(Callback):
        def __init__(self):
            self.max_weight_diff, self.overlaps, self.steps = 0.0, 0, 0

        def on_train_batch_end(self, trainer, step, batch, loss, logs):
            f = trainer.fabric
            flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
            allw = f.all_gather(flat)  # (world, P)
            self.max_weight_diff = max(self.max_weight_diff, float((allw[0] - allw[1]).abs().max()))
            idx = f.all_gather(batch.u_index)  # (world, mu*B)
            self.overlaps += len(set(idx[0].tolist()) & set(idx[1].tolist()))
            self.steps += 1

        def on_train_end(self, trainer, summary):
            if trainer.fabric.global_rank == 0:
                json.dump({"diff": self.max_weight_diff, "overlaps": self.overlaps, "steps": self.steps,
                           "world": trainer.fabric.world_size}, open(sys.argv[2], "w"))

    if __name__ == "__main__":
        cfg = RunConfig.from_dict({
            "algorithm": "fixmatch", "net": {"name": "mlp", "hidden": [16]},
            "data": {"name": "moons", "labels_per_class": 4, "batch_size": 4, "mu": 2},
            "train": {"steps": 12, "eval_every": 6, "checkpoint_every": 6, "log_every": 3, "progress": False},
            "fabric": {"accelerator": "cpu", "devices": 2, "strategy": "ddp"},
        })
        fit(cfg, sys.argv[1], callbacks=[Check()])
    """
)


def test_two_process_ddp_keeps_weights_identical(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    report = tmp_path / "report.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run"), str(report)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(report.read_text())
    assert r["world"] == 2 and r["steps"] == 12
    assert r["diff"] == 0.0  # DDP all-reduces gradients: every rank takes the same step
    assert r["overlaps"] == 0  # each rank draws its own, disjoint unlabeled batch
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["world_size"] == 2 and s["steps"] == 12


# ---- synchronized BatchNorm and logs over ranks ------------------------------------------------------------


def test_sync_batchnorm_converts_the_model_and_the_teacher_in_place():
    import semisup.algorithms  # noqa: F401
    from semisup.engine.distributed import convert_sync_batchnorm
    from semisup.nets.build import build_net
    from semisup.registry import ALGORITHMS

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Identity(), build_net("mlp", (4,), 3))
    teacher = ALGORITHMS.get("mean_teacher")
    algo = teacher(teacher.Config(), 3)
    algo.attach(model)
    keys = list(model.state_dict())
    x = torch.randn(8, 4)
    before = model(x)
    convert_sync_batchnorm(model, algo)
    for m in (model, algo):
        bns = [type(b) for b in m.modules() if isinstance(b, torch.nn.modules.batchnorm._BatchNorm)]
        assert bns and set(bns) == {torch.nn.SyncBatchNorm}
    assert list(model.state_dict()) == keys  # checkpoints load into the plain net
    # one process (no process group): SyncBatchNorm normalises like BatchNorm
    torch.testing.assert_close(model(x), before)


def test_sync_batchnorm_is_refused_on_cpu_processes_with_one_line(tmp_path, capsys):
    from semisup.cli import main
    from semisup.config import ConfigError, FabricConfig
    from semisup.engine.distributed import check_sync_batchnorm
    from semisup.engine.fabric import Fabric

    cfg = FabricConfig(accelerator="cpu", devices=2, strategy="ddp", sync_batchnorm=True)
    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp")  # not launched: no process starts
    with pytest.raises(ConfigError, match="fabric.sync_batchnorm needs GPUs.*sync_batchnorm=false"):
        check_sync_batchnorm(cfg, fabric)
    check_sync_batchnorm(FabricConfig(sync_batchnorm=True), Fabric(accelerator="cpu", devices=1))  # fine
    argv = [
        "train",
        "--data",
        "moons",
        "--algorithm",
        "supervised",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "r"),
    ]
    argv += [
        "--set",
        "fabric.devices=2",
        "--set",
        "fabric.strategy=ddp",
        "--set",
        "fabric.sync_batchnorm=true",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: fabric.sync_batchnorm needs GPUs")


def test_one_process_run_with_sync_batchnorm_trains_and_loads(tmp_path):
    import semisup
    from semisup.config import RunConfig
    from semisup.run import fit

    cfg = RunConfig.from_dict(
        {
            "algorithm": "supervised",
            "net": {"name": "mlp", "hidden": [8]},
            "data": {"name": "moons", "labels_per_class": 4, "batch_size": 4},
            "train": {"steps": 3, "progress": False},
            "fabric": {"sync_batchnorm": True},
        }
    )
    result = fit(cfg, tmp_path / "run")
    assert result.summary["steps"] == 3 and result.summary["test_accuracy"] is not None
    model = semisup.load(tmp_path / "run")
    assert model.predict_proba(np.zeros((2, 2), dtype=np.float32)).shape == (2, 2)


class TwoRanks(Collective):
    """Rank 0 of two, where rank 1 logged ``other`` (the flattened sums, in the meter's sorted order)."""

    world_size = 2

    def __init__(self, other: list[float]) -> None:
        self.other = torch.tensor(other, dtype=torch.float64)

    def all_reduce(self, t: torch.Tensor, op: str = "sum") -> torch.Tensor:
        return t + self.other


def test_logged_train_values_are_pooled_over_ranks():
    from semisup.engine.distributed import reduced_means
    from semisup.engine.metrics import Meter

    meter = Meter()
    for loss, correct, counted in [(1.0, 3.0, 4.0), (3.0, 0.0, 0.0)]:  # two steps on rank 0
        meter.add({"train/loss": torch.tensor(loss), "train/pseudo_acc": (torch.tensor(correct), counted)})
    # rank 1: losses summing to 6 over 2 steps; 1 of 4 pseudo-labels correct
    other = [6.0, 2.0, 1.0, 4.0]  # sorted names: loss (sum, steps), then pseudo_acc (correct, counted)
    means = reduced_means(meter, TwoRanks(other), torch.device("cpu"))
    assert means == pytest.approx(
        {"train/loss": (4.0 + 6.0) / 4, "train/pseudo_acc": (3.0 + 1.0) / (4.0 + 4.0)}
    )
    assert reduced_means(meter, Collective(), torch.device("cpu")) == meter.compute()
