"""Logging cost (issue 14): a tiny-net run of 20,000 steps with ``log_every=1`` must take at most 11x the
time of the same run with 2,000 steps. With a CSV rewritten on every log the ratio grows with the run
length (quadratic); appended rows keep it near 10.

    python benchmarks/logging_cost.py            # prints both times and the ratio; exit 1 above 11x
    python benchmarks/logging_cost.py --short 500 --long 5000
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from semisup.config import RunConfig
from semisup.run import fit


def timed_run(steps: int, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one run of ``steps`` steps."""
    cfg = RunConfig.from_dict(
        {
            "algorithm": "supervised",
            "net": {"name": "mlp", "hidden": [8]},
            "data": {"name": "moons", "labels_per_class": 8, "batch_size": 8},
            "train": {
                "steps": steps,
                "log_every": 1,
                "eval_every": steps,
                "checkpoint_every": steps,
                "ema_decay": 0.0,
                "progress": False,
            },
        }
    )
    t0, c0 = time.perf_counter(), time.process_time()
    fit(cfg, out)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    with (out / "metrics.csv").open(newline="") as f:
        n_rows = sum(1 for _ in csv.DictReader(f))
    assert n_rows == steps, f"expected {steps} rows in metrics.csv, got {n_rows}"
    return seconds, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--short", type=int, default=2_000, help="steps of the short run (default: %(default)s)")
    ap.add_argument("--long", type=int, default=20_000, help="steps of the long run (default: %(default)s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        timed_run(50, Path(tmp) / "warmup")  # imports and first-call costs stay out of both timings
        short = timed_run(args.short, Path(tmp) / "short")
        long = timed_run(args.long, Path(tmp) / "long")
    bound = 1.1 * args.long / args.short
    # CPU time is the verdict: on a shared machine other processes stretch wall time, not CPU time.
    ratio = long[1] / short[1]
    print(f"{args.short:,} steps: {short[0]:.1f} s wall, {short[1]:.1f} s CPU")
    print(f"{args.long:,} steps: {long[0]:.1f} s wall, {long[1]:.1f} s CPU")
    verdict = "ok" if ratio <= bound else "ABOVE THE BOUND"
    print(f"ratio {ratio:.2f} CPU, {long[0] / short[0]:.2f} wall (bound {bound:.1f}): {verdict}")
    return 0 if ratio <= bound else 1


if __name__ == "__main__":
    raise SystemExit(main())
