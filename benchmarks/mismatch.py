"""Class-mismatch study (Oliver et al. 2018, Sec. 4.6) on digits: classes 0-5 labeled, a share of the
unlabeled pool from classes 6-9; supervised vs SSL at each share, and the SSL check at each share.

    python benchmarks/mismatch.py --levels 0 0.25 0.5 0.75 --seeds 0 1 --steps 300 \\
        --algorithms supervised fixmatch pi_model pseudo_label mean_teacher \\
        --check-algorithms fixmatch --out benchmarks/results/mismatch --plot docs/mismatch_digits.png

Every cell is a run folder ``OUT/misNN/digits/lpc4/ALGORITHM-seedS`` (resumable, finished cells are
read back); checks are cached in ``OUT/checks.json``. Writes ``OUT/results.csv``, ``OUT/results.md``,
``OUT/checks.md`` and the plot.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

import torch

from semisup.benchmark import CEILING, Grid, run_grid
from semisup.check import decide


def level_grid(args: argparse.Namespace, level: float, seeds: list[int], ceiling: bool) -> Grid:
    mis = "[" + ",".join(str(c) for c in args.mismatch_classes) + "]"
    return Grid(
        datasets=[args.data],
        algorithms=args.algorithms,
        labels_per_class=[args.labels_per_class],
        seeds=seeds,
        steps=args.steps,
        ceiling=ceiling,
        overrides=[
            f"data.mismatch_classes={mis}",
            f"data.mismatch_fraction={level}",
            *(args.set or []),
        ],
    )


def level_dir(out: Path, level: float) -> Path:
    return out / f"mis{round(100 * level):02d}"


def run_cells(args: argparse.Namespace) -> list[dict]:
    """Seed by seed (so a cut-off study still has whole seeds), every level; then read all back."""
    out = Path(args.out)
    for seed in args.seeds:
        for level in args.levels:
            run_grid(level_grid(args, level, [seed], ceiling=level == 0), level_dir(out, level))
    rows = []
    for level in args.levels:
        grid = level_grid(args, level, args.seeds, ceiling=level == 0)
        for r in run_grid(grid, level_dir(out, level), verbose=False):
            rows.append({"mismatch": level, **r})
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def read_cells(args: argparse.Namespace) -> list[dict]:
    """The rows of every finished cell (levels × algorithms × seeds, plus the ceiling); trains nothing."""
    out = Path(args.out)
    rows = []
    for level in args.levels:
        cells = [(args.labels_per_class, a, s) for a in args.algorithms for s in args.seeds]
        cells += [(None, "supervised", s) for s in args.seeds] if level == 0 else []
        for lpc, algorithm, seed in cells:
            run = level_dir(out, level) / args.data / ("all" if lpc is None else f"lpc{lpc}")
            path = run / f"{algorithm}-seed{seed}" / "summary.json"
            if not path.exists():
                continue
            summary = json.loads(path.read_text())
            rows.append(
                {
                    "mismatch": level,
                    "data": args.data,
                    "labels_per_class": "all" if lpc is None else lpc,
                    "method": CEILING if lpc is None else algorithm,
                    "seed": seed,
                    "n_labeled": summary["n_labeled"],
                    "test_accuracy": summary["test_accuracy"],
                    "train_seconds": summary["train_seconds"],
                }
            )
    return rows


def run_checks(args: argparse.Namespace) -> dict[str, dict]:
    """``semisup.ssl_check`` for each check algorithm at each level; cached per (level, algorithm)."""
    from semisup.check import ssl_check

    out = Path(args.out)
    path = out / "checks.json"
    done: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
    for algorithm in args.check_algorithms:
        for level in args.check_levels or args.levels:
            key = f"{level}/{algorithm}"
            if key in done:
                continue
            cfg = level_grid(args, level, [args.seeds[0]], ceiling=False).config(
                args.data, args.labels_per_class, algorithm, args.seeds[0]
            )
            res = ssl_check(
                cfg, folds=args.check_folds, steps=args.check_steps, alpha=args.alpha, verbose=False
            )
            done[key] = {"mismatch": level, "algorithm": algorithm, **res.to_dict()}
            print(f"check {key}: {res.message}", flush=True)
            path.write_text(json.dumps(done, indent=2) + "\n")
    return done


def table(rows: list[dict], checks: dict[str, dict]) -> str:
    """Accuracy % (mean ± std over seeds) per method × mismatch share, and the check's verdicts."""
    levels = list(dict.fromkeys(r["mismatch"] for r in rows if r["labels_per_class"] != "all"))
    methods = list(dict.fromkeys(r["method"] for r in rows if r["labels_per_class"] != "all"))
    head = "| method | " + " | ".join(f"{round(100 * v)} % mismatch" for v in levels) + " | s/run |"
    lines = [head, "|---" * (len(levels) + 2) + "|"]
    for m in methods:
        cells, times = [], []
        for v in levels:
            acc = [100 * r["test_accuracy"] for r in rows if r["method"] == m and r["mismatch"] == v]
            times += [r["train_seconds"] for r in rows if r["method"] == m and r["mismatch"] == v]
            if not acc:
                cells.append("–")
                continue
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            cells.append(f"{statistics.mean(acc):.2f} ± {sd:.2f} (n={len(acc)})")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {statistics.mean(times):.0f} |")
    ceil = [100 * r["test_accuracy"] for r in rows if r["labels_per_class"] == "all"]
    if ceil:
        sd = statistics.stdev(ceil) if len(ceil) > 1 else 0.0
        mean = statistics.mean(ceil)
        lines.append(f"\nCeiling (supervised on all labels of classes 0-5): {mean:.2f} ± {sd:.2f} %")
    if checks:
        lines += [
            "",
            "| check algorithm | mismatch | held-out acc SSL / supervised % | wins / losses | sign-test p "
            "| Δp(true class) ± se | t-test p | warns |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in sorted(checks.values(), key=lambda c: (c["algorithm"], c["mismatch"])):
            # the decision rule of semisup.check.decide, applied to the stored numbers
            p_sign, p_t, helps = decide(c["wins"], c["losses"], c["mean_diff"], c["se_diff"], c["n_heldout"])
            c = {**c, "p_value": p_sign, "p_t": p_t, "warn": not helps}
            lines.append(
                f"| {c['algorithm']} | {round(100 * c['mismatch'])} % "
                f"| {100 * c['acc_ssl']:.1f} / {100 * c['acc_supervised']:.1f} | {c['wins']} / {c['losses']} "
                f"| {c['p_value']:.3g} | {c['mean_diff']:+.3f} ± {c['se_diff']:.3f} | {c['p_t']:.3g} | "
                f"{'yes' if c['warn'] else 'no'} |"
            )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    levels = sorted(dict.fromkeys(r["mismatch"] for r in rows if r["labels_per_class"] != "all"))
    methods = list(dict.fromkeys(r["method"] for r in rows if r["labels_per_class"] != "all"))
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for m in methods:
        acc = [
            [100 * r["test_accuracy"] for r in rows if r["method"] == m and r["mismatch"] == v]
            for v in levels
        ]
        mean = np.array([np.mean(a) for a in acc if a])
        sd = np.array([np.std(a, ddof=1) if len(a) > 1 else 0.0 for a in acc if a])
        x = 100 * np.array([v for v, a in zip(levels, acc, strict=True) if a])
        style = "--" if m == "supervised" else "-"
        n = max(len(a) for a in acc)
        (line,) = ax.plot(x, mean, style, marker="o", label=f"{m} ({n} seed{'s' if n > 1 else ''})")
        ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.15)
    ceil = [100 * r["test_accuracy"] for r in rows if r["labels_per_class"] == "all"]
    if ceil:
        ax.axhline(np.mean(ceil), color="gray", ls=":", label="all labels (ceiling)")
    ax.set_xlabel("unlabeled pool from unseen classes 6-9 (%)")
    ax.set_ylabel("test accuracy on classes 0-5 (%)")
    ax.set_title(title, fontsize=10)
    ax.set_xticks(100 * np.array(levels))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="digits")
    p.add_argument("--mismatch-classes", nargs="+", type=int, default=[6, 7, 8, 9], dest="mismatch_classes")
    p.add_argument("--levels", nargs="+", type=float, default=[0.0, 0.25, 0.5, 0.75])
    p.add_argument("--labels-per-class", type=int, default=4, dest="labels_per_class")
    p.add_argument(
        "--algorithms",
        nargs="+",
        default=["supervised", "fixmatch", "pi_model", "pseudo_label", "mean_teacher"],
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--check-algorithms", nargs="*", default=["fixmatch"], dest="check_algorithms")
    p.add_argument("--check-folds", type=int, default=2, dest="check_folds")
    p.add_argument("--check-steps", type=int, default=300, dest="check_steps")
    p.add_argument("--check-levels", nargs="+", type=float, dest="check_levels", help="default: --levels")
    p.add_argument("--alpha", type=float, default=0.1, help="level of the check's sign test")
    p.add_argument("--checks-only", action="store_true", dest="checks_only", help="only run the checks")
    p.add_argument("--report-only", action="store_true", dest="report_only", help="only read back and report")
    p.add_argument("--set", action="append", default=["net.name=cnn", "net.width=16"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benchmarks/results/mismatch")
    p.add_argument("--plot", default="docs/mismatch_digits.png")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.checks_only:
        run_checks(args)
        return
    if args.report_only:  # tables and plot from what finished (e.g. a grid cut off by a deadline)
        rows = read_cells(args)
        path = out / "checks.json"
        checks = json.loads(path.read_text()) if path.exists() else {}
        with (out / "results.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        rows = run_cells(args)
        checks = run_checks(args) if args.check_algorithms else {}
    md = table(rows, checks)
    (out / "results.md").write_text(md + "\n")
    seeds = ", ".join(str(s) for s in args.seeds)
    plot(
        rows,
        Path(args.plot),
        f"{args.data}: {args.labels_per_class} labels per known class, {args.steps} steps, "
        f"seeds {seeds}; mean ± 1 std",
    )
    print(md)


if __name__ == "__main__":
    main()
