"""DDP on CPU: 2 gloo processes against 1 process with the doubled batch, for the algorithms whose state
follows the batch (FlexMatch's learning status, FreeMatch's and SoftMatch's EMAs), on digits.

    python benchmarks/ddp_state.py --steps 600 --out benchmarks/results/ddp_state

Both setups see W·B labeled and W·μB unlabeled examples per step, the same examples in the same
order (rank r of W draws the r-th slice of what one process with W·B draws). With the state gathered
across ranks (``StepContext.dist``), the threshold trajectories should match up to the per-process
draws of augmentation and BatchNorm's per-process statistics; before, each rank's curriculum saw half
the batch (rerun here as "2p local"). Prints and writes ``OUT/results.md`` (final test accuracy and the
logged mean threshold every ``--log-every`` steps, side by side) and ``OUT/results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ALGORITHMS = ("flexmatch", "freematch", "softmatch")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=16, help="labeled batch per process (B)")
    p.add_argument("--labels-per-class", type=int, default=4)
    p.add_argument("--net", default="cnn", help="cnn (width 16) or mlp")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/results/ddp_state")
    p.add_argument(
        "--no-local",
        action="store_true",
        help="skip the 2-process run with rank-local state (the old behaviour)",
    )
    p.add_argument("--worker", choices=["global", "local"], help=argparse.SUPPRESS)  # a 2-process half
    return p.parse_args(argv)


def config(args: argparse.Namespace, name: str, devices: int) -> dict[str, Any]:
    net = {"name": "cnn", "width": 16} if args.net == "cnn" else {"name": "mlp", "hidden": [128]}
    return {
        "algorithm": name,
        "net": net,
        "seed": args.seed,
        "data": {"name": "digits", "labels_per_class": args.labels_per_class},
        "train": {"steps": args.steps, "log_every": args.log_every, "eval_every": args.steps},
        "fabric": {"accelerator": "cpu", "devices": devices, "strategy": "ddp" if devices > 1 else "auto"},
    }


def run_all(args: argparse.Namespace, fabric: Any, batch_size: int) -> dict[str, dict[str, Any]]:
    """Every algorithm on ``fabric``: final test accuracy and the logged (step, threshold, mask ratio)."""
    from semisup.config import RunConfig
    from semisup.data.load import load_dataset
    from semisup.engine.callbacks import Callback
    from semisup.engine.defaults import resolve_defaults
    from semisup.engine.trainer import Trainer

    class Trajectory(Callback):
        def __init__(self) -> None:
            self.rows: list[tuple[int, float, float]] = []

        def on_log(self, trainer: Any, step: int, values: dict[str, float]) -> None:
            if "train/threshold_mean" in values:
                self.rows.append((step, values["train/threshold_mean"], values.get("train/mask_ratio", 0.0)))

    out = {}
    for name in ALGORITHMS:
        cfg = RunConfig.from_dict(config(args, name, fabric.world_size))
        cfg.data.batch_size, cfg.train.progress = batch_size, False
        data = load_dataset(cfg.data, cfg.seed).validate()
        cfg.data.kind = data.kind
        resolve_defaults(cfg, data)
        traj, start = Trajectory(), time.perf_counter()
        result = Trainer(cfg, fabric, None, data, callbacks=[traj]).run()
        out[name] = {
            "acc": result.summary["test_accuracy"],
            "trajectory": traj.rows,
            "seconds": time.perf_counter() - start,
        }
    return out


def worker(args: argparse.Namespace) -> None:
    """Both processes of the DDP world run this (Fabric re-runs the command for rank 1). ``local``: every
    rank updates its state from its own batch, as before the collectives (the step context's ``dist``
    is the one-process identity)."""
    from semisup.engine.fabric import Fabric

    if args.worker == "local":
        import semisup.engine.trainer
        from semisup.collective import Collective

        semisup.engine.trainer.collective = lambda fabric: Collective()
    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp")
    fabric.launch()
    results = run_all(args, fabric, args.batch_size)
    if fabric.global_rank == 0:
        (Path(args.out) / f"ddp_{args.worker}.json").write_text(json.dumps(results))


def table(runs: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """``runs``: setup name -> algorithm -> result, the one-process reference last."""
    setups = list(runs)
    lines = [
        f"digits, {args.labels_per_class} labels/class, net {args.net}, {args.steps} steps, seed {args.seed}:"
        f" 2 gloo processes × B={args.batch_size} vs 1 process × B={2 * args.batch_size} (μ = 7 both).",
        "2p: state from the global batch (StepContext.dist); 2p local: each rank's state from its own batch",
        "(the behaviour before); 1p: one process with both ranks' batches.",
        "",
        "| algorithm | "
        + " | ".join(f"test acc, {s}" for s in setups)
        + " | seconds, "
        + " / ".join(setups)
        + " |",
        "|---" * (2 + len(setups)) + "|",
    ]
    for name in ALGORITHMS:
        accs = " | ".join(f"{runs[s][name]['acc']:.3f}" for s in setups)
        times = " / ".join(f"{runs[s][name]['seconds']:.0f}" for s in setups)
        lines.append(f"| {name} | {accs} | {times} |")
    lines += ["", "Mean threshold (train/threshold_mean; FlexMatch: mean M(β_c)·τ, SoftMatch: μ_t):", ""]
    lines += ["| step | " + " | ".join(f"{n}, {s}" for n in ALGORITHMS for s in setups) + " |"]
    lines += ["|---" * (1 + len(ALGORITHMS) * len(setups)) + "|"]
    reference = runs[setups[-1]][ALGORITHMS[0]]["trajectory"]
    for i, (step, _, _) in enumerate(reference):
        cells = [f"{runs[s][n]['trajectory'][i][1]:.3f}" for n in ALGORITHMS for s in setups]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        worker(args)
        return
    import os
    import subprocess

    import torch

    from semisup.engine.fabric import Fabric

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs: dict[str, dict[str, Any]] = {}
    for kind, label in [("global", "2p"), ("local", "2p local")][: 1 if args.no_local else 2]:
        cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]), "--worker", kind]
        subprocess.run(cmd, env=env, check=True)
        runs[label] = json.loads((out / f"ddp_{kind}.json").read_text())
    torch.set_num_threads(1)  # as each DDP process
    runs["1p"] = run_all(args, Fabric(accelerator="cpu", devices=1), 2 * args.batch_size)
    (out / "results.json").write_text(json.dumps({"runs": runs, "args": vars(args)}, indent=1))
    md = table(runs, args)
    (out / "results.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
