"""Algorithms × seeds on one data set, same net and step budget: mean ± std accuracy and time per run.

    python benchmarks/ssl_grid.py --data digits --labels-per-class 4 --steps 2500 \\
        --algorithms supervised pseudo_label pi_model fixmatch --seeds 0 1 2 --ceiling \\
        --set net.name=cnn --set net.width=16 --out benchmarks/results/digits

Each cell is a normal run folder (``OUT/ALGORITHM-seedN``); finished cells are skipped, so an
interrupted grid resumes where it stopped. ``--ceiling`` adds ``supervised`` on every training label.
Writes ``OUT/results.csv`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import torch

import semisup
from semisup.benchmark import CEILING, Grid, markdown_table
from semisup.config import apply_overrides


def make_grid(args: argparse.Namespace) -> Grid:
    """The same cell configs as ``semisup benchmark`` (one data set and one label budget here)."""
    return Grid(
        datasets=[args.data],
        algorithms=args.algorithms,
        labels_per_class=[args.labels_per_class],
        seeds=args.seeds,
        steps=args.steps,
        ceiling=args.ceiling,
        overrides=list(args.set or []),
        algorithm_overrides=args.algo_set,
    )


def run_grid(args: argparse.Namespace) -> list[dict]:
    out = Path(args.out)
    cells = [(a, s, False) for a in args.algorithms for s in args.seeds]
    if args.ceiling:
        cells += [("supervised", s, True) for s in args.seeds]
    rows = []
    for algorithm, seed, ceiling in cells:
        name = f"{'ceiling-' if ceiling else ''}{algorithm}-seed{seed}"
        run = out / name
        if (run / "summary.json").exists():
            summary = json.loads((run / "summary.json").read_text())
        else:
            cfg = make_grid(args).config(
                args.data, None if ceiling else args.labels_per_class, algorithm, seed
            )
            summary = semisup.fit(cfg, run, resume=True).summary
        rows.append(
            {
                "data": args.data,
                "labels_per_class": "all" if ceiling else args.labels_per_class,
                "method": CEILING if ceiling else algorithm,
                "seed": seed,
                "test_accuracy": summary["test_accuracy"],
                "train_seconds": summary["train_seconds"],
                "n_labeled": summary["n_labeled"],
            }
        )
        print(f"{name}: {100 * summary['test_accuracy']:.2f}% in {summary['train_seconds']:.0f}s", flush=True)
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def parse_algo_set(items: list[str] | None) -> dict[str, dict]:
    """``pi_model.lambda_u=10`` -> {"pi_model": {"lambda_u": 10}} (per-algorithm overrides)."""
    out: dict[str, dict] = {}
    for item in items or []:
        key, value = item.split("=", 1)
        algo, field = key.split(".", 1)
        out.setdefault(algo, {}).update(apply_overrides({}, [f"{field}={value}"]))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--labels-per-class", type=int, default=4, dest="labels_per_class")
    p.add_argument("--algorithms", nargs="+", default=["supervised", "pseudo_label", "pi_model", "fixmatch"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--ceiling", action="store_true", help="add supervised on all training labels")
    p.add_argument("--set", action="append", help="config override for every cell (key=value)")
    p.add_argument(
        "--algo-set", action="append", dest="algo_set_raw", help="ALGO.key=value for one algorithm"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    args.algo_set = parse_algo_set(args.algo_set_raw)
    torch.set_num_threads(args.threads)
    rows = run_grid(args)
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
