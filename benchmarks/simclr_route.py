"""The SimCLRv2 route on mnist5k: pretrain → fine-tune → distill, against training from scratch.

    OMP_NUM_THREADS=1 python benchmarks/simclr_route.py --seeds 0 1 2 --labels-per-class 10 50 \\
        --out benchmarks/results/simclr_route

Per seed: one SimCLR pretraining run on all 4,000 training images (labels unused), shared by every
downstream cell of that seed. Per seed and label budget: supervised from scratch; supervised fine-tuned
from the pretrained encoder (+ the head's first layer, SimCLRv2); FixMatch from scratch; FixMatch from the
pretrained encoder; and distillation of the fine-tuned supervised run into a student of the same net
(starting from the pretrained encoder) on all training images. Every cell is a normal run folder; a
finished cell is skipped, so an interrupted run resumes. Writes OUT/results.jsonl and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import semisup
from semisup.config import RunConfig

CELLS = ("supervised", "supervised+pretrain", "fixmatch", "fixmatch+pretrain", "pretrain+finetune+distill")


def base(args: argparse.Namespace, seed: int, steps: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "net": {"name": "cnn", "width": args.width},
        "data": {"name": "mnist5k", "batch_size": args.batch_size, "mu": args.mu},
        "train": {"steps": steps, "eval_every": steps, "log_every": 25, "progress": False},
    }


def pretrain_dir(args: argparse.Namespace, seed: int, out: Path) -> Path:
    return out / f"pretrain-seed{seed if args.pretrain_seed is None else args.pretrain_seed}"


def configs(args: argparse.Namespace, seed: int, lpc: int, out: Path) -> dict[str, dict[str, Any]]:
    pre = str(pretrain_dir(args, seed, out))
    init = {"init": pre, "init_head_layers": 1}

    def cell(algo: Any, steps: int, **train: Any) -> dict[str, Any]:
        d = base(args, seed, steps)
        d["algorithm"] = algo
        d["data"]["labels_per_class"] = lpc
        d["train"].update(train)
        return d

    teacher = str(out / f"supervised+pretrain-lpc{lpc}-seed{seed}")
    return {
        "supervised": cell("supervised", args.finetune_steps),
        "supervised+pretrain": cell("supervised", args.finetune_steps, **init),
        "fixmatch": cell("fixmatch", args.fixmatch_steps),
        "fixmatch+pretrain": cell("fixmatch", args.fixmatch_steps, **init),
        "pretrain+finetune+distill": cell(
            {"name": "distill", "teacher": teacher, "T": 1.0, "alpha": 0.0}, args.distill_steps, **init
        ),
    }


def run(cfg_dict: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    if (run_dir / "summary.json").exists():
        return json.loads((run_dir / "summary.json").read_text())
    print(f"-> {run_dir.name}", flush=True)
    return semisup.fit(RunConfig.from_dict(cfg_dict), run_dir, resume=True).summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--labels-per-class", nargs="+", type=int, default=[10, 50], dest="lpc")
    p.add_argument("--pretrain-steps", type=int, default=400)
    p.add_argument("--finetune-steps", type=int, default=300)
    p.add_argument("--fixmatch-steps", type=int, default=300)
    p.add_argument("--distill-steps", type=int, default=300)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--mu", type=int, default=2, help="unlabeled batch ratio of the downstream runs")
    p.add_argument("--pretrain-mu", type=int, default=3, help="SimCLR batch = pretrain_mu × batch_size")
    p.add_argument(
        "--pretrain-seed",
        type=int,
        default=None,
        help="share one pretraining run (this seed) across all seeds (default: one per seed)",
    )
    p.add_argument("--temperature", type=float, default=0.2)
    p.add_argument("--out", default="benchmarks/results/simclr_route")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        pre_seed = seed if args.pretrain_seed is None else args.pretrain_seed
        pre = base(args, pre_seed, args.pretrain_steps)
        pre["data"]["mu"] = args.pretrain_mu
        pre["algorithm"] = {"name": "simclr", "temperature": args.temperature, "head_dim": 64}
        pre["optim"] = {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-4}
        pre_summary = run(pre, pretrain_dir(args, seed, out))
        for lpc in args.lpc:
            for name, cfg in configs(args, seed, lpc, out).items():
                s = run(cfg, out / f"{name}-lpc{lpc}-seed{seed}")
                seconds = s["train_seconds"]
                if "pretrain" in name:  # the route's cost includes the shared pretraining run
                    seconds += pre_summary["train_seconds"]
                if name.endswith("distill"):
                    teacher = out / f"supervised+pretrain-lpc{lpc}-seed{seed}" / "summary.json"
                    seconds += json.loads(teacher.read_text())["train_seconds"]
                row = {
                    "method": name,
                    "lpc": lpc,
                    "seed": seed,
                    "acc": s["test_accuracy"],
                    "own_seconds": s["train_seconds"],
                    "route_seconds": seconds,
                    "pretrain": pretrain_dir(args, seed, out).name,
                }
                with open(out / "results.jsonl", "a") as f:
                    f.write(json.dumps(row) + "\n")
    rows = {}
    for line in (out / "results.jsonl").open():  # every invocation's cells, each once
        r = json.loads(line)
        rows[(r["method"], r["lpc"], r["seed"])] = r
    print(table(list(rows.values())))


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| labels/class | method | test accuracy (%) | seeds | own time (s) | incl. pretrain/teacher (s) |",
        "|---|---|---|---|---|---|",
    ]
    for lpc in sorted({r["lpc"] for r in rows}):
        for m in CELLS:
            rs = [r for r in rows if r["lpc"] == lpc and r["method"] == m]
            if not rs:
                continue
            acc = [100 * r["acc"] for r in rs]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            own = statistics.mean(r["own_seconds"] for r in rs)
            route = statistics.mean(r["route_seconds"] for r in rs)
            acc_txt = f"{statistics.mean(acc):.1f} ± {sd:.1f}"
            lines.append(f"| {lpc} | {m} | {acc_txt} | {len(rs)} | {own:.0f} | {route:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
