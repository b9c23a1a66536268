"""Two CPU processes (gloo) through Fabric: different batches per rank, identical weights every step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import semisup.algorithms, semisup.nets, semisup.data.builtin
    from semisup.config import RunConfig
    from semisup.engine.callbacks import Callback
    from semisup.engine.trainer import fit

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
