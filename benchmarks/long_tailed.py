"""Long-tailed SSL (issue 15): balanced test accuracy of FixMatch and the long-tailed methods (DARP, ABC,
CReST+, ACR) under DARP's protocol, for labeled imbalance γ_l = γ_u ∈ {10, 20} with a consistent and a
reversed unlabeled pool.

Full study (3 seeds, mnist5k: N_1 = 100 labels of the head class, M_1 = 300 unlabeled of the pool's head):

    python benchmarks/long_tailed.py --data mnist5k --labels-per-class 100 --unlabeled-head 300 \\
        --gammas 10 20 --distributions consistent reversed --seeds 0 1 2 --steps 5000 \\
        --algorithms supervised fixmatch darp abc crest acr --out benchmarks/results/long_tailed

Small check on 2 cores (about 15 min): ``--data digits --labels-per-class 40 --unlabeled-head 80
--steps 500 --seeds 0 --set data.batch_size=32``.

Every cell is a run folder ``OUT/gG-DIST/ALGORITHM-seedS`` (finished cells are read back, interrupted
ones resume). Writes ``OUT/results.csv`` and ``OUT/results.md``: balanced accuracy and accuracy on the
(balanced) test split, mean ± std over seeds, and each method's gain over FixMatch.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path
from typing import Any

from semisup.config import RunConfig, apply_overrides


def cell_config(args: argparse.Namespace, gamma: float, dist: str, algorithm: str, seed: int) -> RunConfig:
    d = apply_overrides({}, args.set or [])
    data = d.setdefault("data", {})
    data.update({"name": args.data, "labels_per_class": args.labels_per_class})
    data["imbalance"] = {"labeled_ratio": gamma, "unlabeled": dist, "unlabeled_head": args.unlabeled_head}
    d["algorithm"] = {**d.get("algorithm", {}), "name": algorithm}
    train = d.setdefault("train", {})
    train.update({"steps": args.steps, "progress": False})
    train.setdefault("eval_every", max(1, args.steps // 5))
    train.setdefault("checkpoint_every", args.steps)
    d["seed"] = seed
    return RunConfig.from_dict(d)


def run_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    from semisup.run import fit

    out, rows = Path(args.out), []
    settings = [(g, d) for g in args.gammas for d in args.distributions]
    if args.settings:
        settings = [(float(s.split(":")[0]), s.split(":")[1]) for s in args.settings]
    for seed in args.seeds:  # seed by seed: a study cut short still has whole seeds
        for gamma, dist in settings:
            for algorithm in args.algorithms:
                run = out / f"g{gamma:g}-{dist}" / f"{algorithm}-seed{seed}"
                if (run / "summary.json").exists():
                    summary = json.loads((run / "summary.json").read_text())
                elif args.report_only:
                    continue
                else:
                    summary = fit(cell_config(args, gamma, dist, algorithm, seed), run, resume=True).summary
                rows.append(
                    {
                        "gamma": gamma,
                        "unlabeled": dist,
                        "method": algorithm,
                        "seed": seed,
                        "balanced_accuracy": summary["test_balanced_accuracy"],
                        "accuracy": summary["test_accuracy"],
                        "train_seconds": summary["train_seconds"],
                    }
                )
                r = rows[-1]
                bal, acc = 100 * r["balanced_accuracy"], 100 * r["accuracy"]
                print(
                    f"γ={gamma:g} {dist} {algorithm} seed {seed}: balanced {bal:.2f}% (acc {acc:.2f}%) "
                    f"in {r['train_seconds']:.0f}s",
                    flush=True,
                )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Balanced accuracy % (mean ± std) per method × setting, then plain accuracy, then Δ vs FixMatch."""
    settings = list(dict.fromkeys((r["gamma"], r["unlabeled"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))

    def cell(method: str, setting: tuple[float, str], key: str) -> list[float]:
        return [
            100 * r[key] for r in rows if r["method"] == method and (r["gamma"], r["unlabeled"]) == setting
        ]

    def fmt(v: list[float]) -> str:
        return f"{statistics.mean(v):.2f} ± {statistics.stdev(v) if len(v) > 1 else 0.0:.2f}" if v else "–"

    head = "| method | " + " | ".join(f"γ={g:g} {d}" for g, d in settings) + " |"
    rule = "|---" * (len(settings) + 1) + "|"
    out = ["Balanced accuracy (%), mean ± std over seeds", "", head, rule]
    out += [
        f"| {m} | " + " | ".join(fmt(cell(m, s, "balanced_accuracy")) for s in settings) + " |"
        for m in methods
    ]
    out += ["", "Accuracy (%)", "", head, rule]
    out += [f"| {m} | " + " | ".join(fmt(cell(m, s, "accuracy")) for s in settings) + " |" for m in methods]
    if "fixmatch" in methods:
        out += ["", "Balanced accuracy minus FixMatch's (points)", "", head, rule]
        for m in (m for m in methods if m != "fixmatch"):
            gains = []
            for s in settings:
                a, f = cell(m, s, "balanced_accuracy"), cell("fixmatch", s, "balanced_accuracy")
                gains.append(f"{statistics.mean(a) - statistics.mean(f):+.2f}" if a and f else "–")
            out.append(f"| {m} | " + " | ".join(gains) + " |")
    n = len({r["seed"] for r in rows})
    out += [
        "",
        f"{n} seed(s); {len(rows)} runs; mean {statistics.mean(r['train_seconds'] for r in rows):.0f} s/run",
    ]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="mnist5k")
    p.add_argument(
        "--labels-per-class", type=int, default=100, dest="labels_per_class", help="N_1 (head class)"
    )
    p.add_argument("--unlabeled-head", type=int, default=300, dest="unlabeled_head", help="M_1 (pool's head)")
    p.add_argument("--gammas", nargs="+", type=float, default=[10.0, 20.0])
    p.add_argument("--distributions", nargs="+", default=["consistent", "reversed"])
    p.add_argument(
        "--settings", nargs="+", metavar="GAMMA:DIST", help="settings instead of gammas × distributions"
    )
    p.add_argument(
        "--algorithms", nargs="+", default=["supervised", "fixmatch", "darp", "abc", "crest", "acr"]
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--set", action="append", help="any config key=value, for every cell")
    p.add_argument("--out", default="benchmarks/results/long_tailed")
    p.add_argument("--report-only", action="store_true", help="tabulate finished cells, train nothing")
    args = p.parse_args()
    rows = run_cells(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "results.md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
