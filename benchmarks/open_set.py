"""Open-set SSL on digits (issue 15): 6 known classes, 4 unknown, 25/50/75 % of the unlabeled pool from
the unknown classes; closed-set accuracy and unknown-class AUROC per algorithm.

    python benchmarks/open_set.py --levels 0.25 0.5 0.75 --seeds 0 --steps 500 \\
        --algorithms supervised fixmatch openmatch iomatch --out benchmarks/results/open_set

Classes 0-5 are labeled (``--labels-per-class`` each) and 6-9 never are; the test split keeps every class:
closed-set accuracy is scored on the test digits 0-5, the AUROC of each model's unknown score on all of
them with 6-9 as the positives (OpenMatch: its one-vs-all outlier probability; IOMatch: its open-set
classifier's outlier class; the others: 1 − max softmax probability). Every cell is a run folder
``OUT/misNN/ALGORITHM-seedS`` (resumable; finished cells are read back). Writes ``OUT/results.csv`` and
``OUT/results.md`` (mean ± std over seeds), and ``--plot`` a figure of both metrics against the share.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

from semisup.benchmark import Grid, check_same_config

UNKNOWN = [6, 7, 8, 9]


def cell_config(args: argparse.Namespace, level: float, algorithm: str, seed: int):
    grid = Grid(
        datasets=[args.data],
        algorithms=[algorithm],
        labels_per_class=[args.labels_per_class],
        seeds=[seed],
        steps=args.steps,
        ceiling=False,
        overrides=[
            "data.mismatch_classes=[" + ",".join(map(str, UNKNOWN)) + "]",
            f"data.mismatch_fraction={level}",
            *(args.set or []),
        ],
    )
    return grid.config(args.data, args.labels_per_class, algorithm, seed)


def run_cells(args: argparse.Namespace) -> list[dict]:
    """Seed by seed (a cut-off study still has whole seeds), every level and algorithm."""
    from semisup.run import fit

    out, rows = Path(args.out), []
    for seed in args.seeds:
        for level in args.levels:
            for algorithm in args.algorithms:
                cfg = cell_config(args, level, algorithm, seed)
                run = out / f"mis{round(100 * level):02d}" / f"{algorithm}-seed{seed}"
                if (run / "summary.json").exists():
                    check_same_config(cfg, run)
                    summary = json.loads((run / "summary.json").read_text())
                else:
                    summary = fit(cfg, run, resume=True).summary
                rows.append(
                    {
                        "unknown_share": level,
                        "method": algorithm,
                        "seed": seed,
                        "closed_set_accuracy": summary["closed_set_accuracy"],
                        "unknown_auroc": summary["unknown_auroc"],
                        "unknown_rate": summary.get("unknown_rate", ""),
                        "train_seconds": summary["train_seconds"],
                    }
                )
                r = rows[-1]
                print(
                    f"unknown {100 * level:.0f}% {algorithm} seed {seed}: closed-set "
                    f"{100 * r['closed_set_accuracy']:.2f}%, AUROC {r['unknown_auroc']:.3f} "
                    f"in {r['train_seconds']:.0f}s",
                    flush=True,
                )
    return rows


def mean_std(values: list[float], digits: int = 2) -> str:
    m = statistics.mean(values)
    return f"{m:.{digits}f} ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else f"{m:.{digits}f}"


def write_tables(rows: list[dict], out: Path) -> str:
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    levels = sorted({r["unknown_share"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    head = " | ".join(f"{100 * lv:.0f} % unknown: acc / AUROC" for lv in levels)
    lines = [f"| method | {head} |", "|---" * (len(levels) + 1) + "|"]
    for m in methods:
        cells = []
        for lv in levels:
            rs = [r for r in rows if r["method"] == m and r["unknown_share"] == lv]
            acc = mean_std([100 * r["closed_set_accuracy"] for r in rs])
            auc = mean_std([r["unknown_auroc"] for r in rs], 3)
            cells.append(f"{acc} / {auc}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    seeds = sorted({r["seed"] for r in rows})
    table = (
        "\n".join(lines) + f"\n\nclosed-set accuracy (%) on digits 0-5 / unknown-class AUROC; seeds {seeds}\n"
    )
    (out / "results.md").write_text(table)
    return table


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4), dpi=100)
    axes = fig.subplots(1, 2)
    for m in dict.fromkeys(r["method"] for r in rows):
        levels = sorted({r["unknown_share"] for r in rows if r["method"] == m})
        for ax, key, scale in ((axes[0], "closed_set_accuracy", 100), (axes[1], "unknown_auroc", 1)):
            cell = [[r[key] for r in rows if r["method"] == m and r["unknown_share"] == lv] for lv in levels]
            ys = [scale * statistics.mean(c) for c in cell]
            ax.plot([100 * lv for lv in levels], ys, marker="o", label=m)
    for ax, title in zip(axes, ("closed-set accuracy (%)", "unknown-class AUROC"), strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("unknown share of the unlabeled pool (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="digits")
    p.add_argument("--levels", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    p.add_argument("--algorithms", nargs="+", default=["supervised", "fixmatch", "openmatch", "iomatch"])
    p.add_argument("--labels-per-class", type=int, default=4)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--set", action="append", help="config override key=value for every cell (repeatable)")
    p.add_argument("--out", default="benchmarks/results/open_set")
    p.add_argument("--plot", default=None, help="write the figure here (e.g. docs/open_set_digits.png)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = run_cells(args)
    print(write_tables(rows, out))
    if args.plot:
        plot(rows, Path(args.plot))


if __name__ == "__main__":
    main()
