"""One script for a lent GPU: every registered algorithm for a few hundred steps in each precision, with
and without ``torch.compile`` + channels_last, then WRN-28-2 FixMatch steps/s beside its bare
forward+backward. Prints one line per case (steps/s, final loss, or the failure) and writes a markdown table.

    python benchmarks/gpu_check.py --out gpu_check.md         # the full check (~6-9 min, one H100)
    python benchmarks/gpu_check.py --algorithms fixmatch --precision 32-true  # one case
    python benchmarks/gpu_check.py --accelerator cpu --steps 3 --warmup 1 --no-wrn   # a smoke run, CPU

Each case builds the engine's own ``Trainer`` on ``synthetic32`` (random 3x32x32 images: speed and
numerical health only, accuracy is meaningless) with the small ``cnn`` net, so a failure is the engine's,
not a script's. A case fails on an exception or on a non-finite loss. ``--budget-s`` stops starting new
cases once spent, so a time-limited machine still returns every finished row.
"""

from __future__ import annotations

import argparse
import math
import time
import traceback
from pathlib import Path

import torch

import semisup  # noqa: F401  (registers the algorithms, nets and data sets)
from semisup.config import RunConfig
from semisup.engine.distributed import fabric_kwargs
from semisup.engine.fabric import Fabric
from semisup.engine.trainer import Trainer
from semisup.registry import ALGORITHMS

PRECISIONS = ("bf16-mixed", "16-mixed", "32-true")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_case(algorithm: str, precision: str, fast: bool, args: argparse.Namespace, data) -> dict:
    """Warm up, then time ``args.steps`` training steps of ``algorithm``; returns the row."""
    row = {"algorithm": algorithm, "precision": precision, "compile+channels_last": fast}
    d = {
        "algorithm": algorithm,
        "seed": 0,
        "net": {"name": "cnn"},
        "data": {"name": "synthetic32", "batch_size": args.batch_size, "mu": args.mu},
        "train": {
            "steps": args.warmup + args.steps,
            "progress": False,
            "compile": fast,
            "channels_last": fast,
        },  # fmt: skip
        "fabric": {"accelerator": args.accelerator, "devices": 1, "precision": precision},
    }
    try:
        cfg = RunConfig.from_dict(d)
        fabric = Fabric(**fabric_kwargs(cfg.fabric))
        trainer = Trainer(cfg, fabric, None, data)
        dev = fabric.device
        t0 = time.perf_counter()
        for step in range(args.warmup):  # includes the compilation
            loss, logs, _ = trainer.train_step(step)
        _sync(dev)
        row["warmup_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        for step in range(args.warmup, args.warmup + args.steps):
            loss, logs, _ = trainer.train_step(step)
        _sync(dev)
        row["steps_per_s"] = round(args.steps / (time.perf_counter() - t0), 1)
        value = float(loss.detach())
        row["loss"] = round(value, 4)
        row["status"] = "ok" if math.isfinite(value) else "FAIL: non-finite loss"
    except Exception as e:  # noqa: BLE001  (a check reports every failure and goes on)
        row["status"] = f"FAIL: {type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
        if args.verbose:
            traceback.print_exc()
    return row


def wrn_rows(args: argparse.Namespace) -> list[dict]:
    """WRN-28-2 FixMatch (B = 64, mu = 7) end-to-end steps/s and its bare forward+backward, per precision."""
    import step_time  # the sibling script: the same measurement the H100 figures in BENCHMARKS.md used

    rows = []
    for precision in args.precision:
        ns = argparse.Namespace(
            data="synthetic32", net="wrn28_2", algorithm="fixmatch", batch_size=64, mu=7,
            steps=args.wrn_steps, warmup=args.warmup, accelerator=args.accelerator, compile=args.wrn_compile,
            channels_last=args.wrn_compile, set=[],
        )  # fmt: skip
        try:
            r = step_time.measure(ns, precision)
            rows.append({
                "precision": precision, "steps_per_s": r["steps_per_s"], "step_ms": r["step_ms"],
                "bare_fwd_bwd_ms": r["bare_fwd_bwd_ms"], "augment_ms": r["profiled_ms"]["augment"],
                "status": "ok",
            })  # fmt: skip
        except Exception as e:  # noqa: BLE001
            rows.append({"precision": precision, "status": f"FAIL: {type(e).__name__}: {e}"[:160]})
        print("wrn28_2 fixmatch", rows[-1], flush=True)
    return rows


def markdown(rows: list[dict], wrn: list[dict], device: str) -> str:
    out = [f"GPU check on {device}, torch {torch.__version__}", ""]
    out += ["| algorithm | precision | compile+channels_last | steps/s | warm-up s | final loss | status |"]
    out += ["|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['algorithm']} | {r['precision']} | {'yes' if r['compile+channels_last'] else 'no'} | "
            f"{r.get('steps_per_s', '–')} | {r.get('warmup_s', '–')} | {r.get('loss', '–')} | {r['status']} |"
        )
    if wrn:
        out += ["", "| WRN-28-2 FixMatch | steps/s | step ms | bare fwd+bwd ms | augment ms | status |"]
        out += ["|---|---|---|---|---|---|"]
        for r in wrn:
            out.append(
                f"| {r['precision']} | {r.get('steps_per_s', '–')} | {r.get('step_ms', '–')} | "
                f"{r.get('bare_fwd_bwd_ms', '–')} | {r.get('augment_ms', '–')} | {r['status']} |"
            )
    return "\n".join(out) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algorithms", nargs="+", default=sorted(ALGORITHMS))
    p.add_argument("--precision", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    p.add_argument("--accelerator", default="cuda")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64, dest="batch_size")
    p.add_argument("--mu", type=int, default=7)
    p.add_argument("--no-compile", action="store_true", help="skip the compile+channels_last cases")
    p.add_argument("--no-wrn", action="store_true", help="skip the WRN-28-2 FixMatch rows")
    p.add_argument("--wrn-steps", type=int, default=50, dest="wrn_steps")
    p.add_argument("--wrn-compile", action="store_true", dest="wrn_compile")
    p.add_argument("--budget-s", type=float, default=480.0, dest="budget_s", help="start no case after this")
    p.add_argument("--out", default="gpu_check.md")
    p.add_argument("--verbose", action="store_true", help="print tracebacks of failures")
    args = p.parse_args()

    import step_time

    data = step_time.synthetic32().validate()
    device = torch.cuda.get_device_name() if args.accelerator == "cuda" else "cpu"
    start, rows = time.perf_counter(), []
    modes = [False] if args.no_compile else [False, True]
    for fast in modes:
        for precision in args.precision:
            for algorithm in args.algorithms:
                if time.perf_counter() - start > args.budget_s:
                    rows.append(
                        {
                            "algorithm": algorithm,
                            "precision": precision,
                            "compile+channels_last": fast,
                            "status": "not run: --budget-s spent",
                        }
                    )
                    continue
                rows.append(run_case(algorithm, precision, fast, args, data))
                print(" ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
                Path(args.out).write_text(markdown(rows, [], device))  # what finished survives a timeout
    wrn = [] if args.no_wrn else wrn_rows(args)
    Path(args.out).write_text(markdown(rows, wrn, device))
    failed = [r for r in rows + wrn if str(r["status"]).startswith("FAIL")]
    print(f"{len(rows) + len(wrn)} cases, {len(failed)} failed; table in {args.out}")


if __name__ == "__main__":
    main()
