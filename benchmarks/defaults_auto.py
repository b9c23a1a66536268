"""The first run a user makes, with defaults, against supervised training and `--algorithm auto`.

    OMP_NUM_THREADS=1 python benchmarks/defaults_auto.py --data moons digits --seeds 0 1 2 \\
        --out benchmarks/results/defaults_auto

Per data set and seed, on the built-in split with the issue's labels per class (moons 4, digits 4,
mnist5k 10), every cell with the package defaults (no steps, net or algorithm settings):
- ``default``: no algorithm named (the per-kind default of ``semisup.engine.defaults``),
- ``fixmatch``: ``--algorithm fixmatch`` (the issue's bare digits command),
- ``supervised``: the same net and budget on the labels only (the baseline),
- ``auto``: ``--algorithm auto`` (its choice, search and final-run seconds),
- ``ceiling``: supervised on every training label.
Where the default algorithm is FixMatch (images) the ``fixmatch`` cell is that same run, recorded once.
Wall and process CPU seconds are recorded per cell (the machine may be shared: CPU time is the
contention-free figure for one thread). Cells already in OUT/cells.jsonl are skipped.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

LABELS = {"moons": 4, "digits": 4, "mnist5k": 10}
METHODS = ("default", "fixmatch", "supervised", "auto", "ceiling")


def run_cell(data: str, method: str, seed: int) -> dict[str, Any]:
    import semisup
    from semisup.auto import auto_fit

    d: dict[str, Any] = {"data": {"name": data, "labels_per_class": LABELS[data]}, "seed": seed}
    d["train"] = {"progress": False}
    if method in ("fixmatch", "supervised"):
        d["algorithm"] = method
    if method == "ceiling":
        d["algorithm"], d["data"]["labels_per_class"] = "supervised", None
    wall, cpu = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {"data": data, "method": method, "seed": seed}
    if method == "auto":
        res = auto_fit(d, None, verbose=False)
        report = res.summary["auto"]
        row.update(choice=report["choice"])
    else:
        res = semisup.fit(semisup.RunConfig.from_dict(d), None)
        row.update(choice=res.summary["algorithm"], steps=res.summary["steps"], net=res.summary["net"])
    row.update(
        accuracy=res.summary["test_accuracy"],
        wall_s=round(time.perf_counter() - wall, 1),
        cpu_s=round(time.process_time() - cpu, 1),
    )
    for key in ("search_seconds", "final_seconds"):
        if key in res.summary.get("auto", {}):
            row[key] = res.summary["auto"][key]
    return row


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| data | method | choice(s) | accuracy % (mean ± std) | seeds | wall s | CPU s |"]
    out.append("|---|---|---|---|---|---|---|")
    for data in LABELS:
        for method in METHODS:
            cell = [r for r in rows if r["data"] == data and r["method"] == method]
            if not cell:
                continue
            acc = [100 * r["accuracy"] for r in cell]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            choices = "/".join(str(r["choice"]) for r in cell)
            wall = statistics.mean(r["wall_s"] for r in cell)
            cpu = statistics.mean(r["cpu_s"] for r in cell)
            out.append(
                f"| {data} | {method} | {choices} | {statistics.mean(acc):.2f} ± {sd:.2f} | {len(cell)} "
                f"| {wall:.0f} | {cpu:.0f} |"
            )
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", default=["moons", "digits"], choices=list(LABELS))
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--out", default="benchmarks/results/defaults_auto")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cells = out / "cells.jsonl"
    done = [json.loads(line) for line in cells.read_text().splitlines()] if cells.exists() else []
    have = {(r["data"], r["method"], r["seed"]) for r in done}
    for seed in args.seeds:
        for data in args.data:
            for method in args.methods:
                if (data, method, seed) in have:
                    continue
                twin = [r for r in done if (r["data"], r["method"], r["seed"]) == (data, "default", seed)]
                if method == "fixmatch" and twin and twin[0]["choice"] == "fixmatch":
                    # the default run was FixMatch with the same config: the same (deterministic) run
                    row = {**twin[0], "method": "fixmatch", "same_as": "default"}
                else:
                    row = run_cell(data, method, seed)
                print(json.dumps(row), flush=True)
                with cells.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                done.append(row)
    md = table(done)
    (out / "results.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
