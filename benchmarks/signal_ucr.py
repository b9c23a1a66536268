"""Signals: FixMatch vs supervised training of the same net on UCR sets shipped inside the aeon wheel.

    pip install aeon   # the data sets ship inside the wheel: nothing is downloaded
    OMP_NUM_THREADS=1 python benchmarks/signal_ucr.py --out benchmarks/results/signal_ucr

Per data set and seed, train and test of the UCR archive are pooled and re-split (seeded, stratified):
``--test-fraction`` held out for testing, ``--labels-per-class`` labeled examples per class, the rest of
the training part unlabeled. On that split it runs supervised training of the default signal net on the
labels, FixMatch (labels + unlabeled) and the all-labels ceiling (supervised on every training label),
all with the same net and steps (net, views and algorithm at their defaults: cnn1d, SignalView,
FixMatch's paper values; 1,000 steps, B = 32, mu = 4, EMA 0.99; ``--methods ... auto`` adds
``semisup.auto_fit`` with the same settings), plus classic baselines on the flat
series fitted on the labels: 1-NN with Euclidean distance (the UCR archive's reference) and logistic
regression. Finished cells are read back from ``OUT/results.jsonl``, so an interrupted run resumes.
Writes ``OUT/results.jsonl`` (one line per cell) and ``OUT/results.md`` (mean ± std over seeds, seconds
per run).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

import semisup
from semisup.benchmark import CEILING, markdown_table
from semisup.config import apply_overrides
from semisup.data.dataset import SSLDataset

SETS = ["ItalyPowerDemand", "GunPoint", "ArrowHead", "OSULeaf", "BasicMotions", "ACSF1", "JapaneseVowels"]
CLASSIC = ("1-NN (labels)", "logistic regression (labels)")


def load_ucr(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Train and test of a bundled UCR/UEA set pooled: X (N, C, L) float32, y (N,) ids, class names."""
    from aeon.datasets import load_classification

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, labels = load_classification(name)  # bundled sets are read from the wheel, offline
    classes, y = np.unique(labels, return_inverse=True)
    if isinstance(X, list):  # unequal lengths (JapaneseVowels: 7-29 steps): resampled to the longest
        X = np.stack([resample(np.asarray(x, dtype=np.float32), max(x.shape[-1] for x in X)) for x in X])
    return np.asarray(X, dtype=np.float32), y.astype(np.int64), [str(c) for c in classes]


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """(C, L) -> (C, length) by linear interpolation on a common [0, 1] time axis."""
    t_old, t_new = np.linspace(0, 1, x.shape[-1]), np.linspace(0, 1, length)
    return np.stack([np.interp(t_new, t_old, ch) for ch in x]).astype(np.float32)


def split(y: np.ndarray, lpc: int, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified, seeded: (test, labeled, unlabeled) indices; ``lpc`` labels per class."""
    rng = np.random.default_rng(seed)
    test, lab, unl = [], [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = round(test_fraction * len(idx))
        test += idx[:n_test].tolist()
        lab += idx[n_test : n_test + lpc].tolist()
        unl += idx[n_test + lpc :].tolist()
    return np.array(test), np.array(lab), np.array(unl)


def make_data(
    name: str, X: np.ndarray, y: np.ndarray, classes: list[str], parts, ceiling: bool
) -> SSLDataset:
    test, lab, unl = parts
    train = np.concatenate([lab, unl])
    y_train = y[train].copy()
    if not ceiling:
        y_train[len(lab) :] = -1
    return SSLDataset(
        X=X[train], y=y_train, classes=classes, kind="signal", X_test=X[test], y_test=y[test],
        y_true=y[train], name=name,
    )  # fmt: skip


def run_deep(data: SSLDataset, algorithm: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    d = {
        "algorithm": algorithm,
        "data": {"batch_size": args.batch_size, "mu": args.mu},
        "train": {
            "steps": args.steps,
            "eval_every": args.steps,
            "log_every": max(1, args.steps // 10),
            "checkpoint_every": args.steps,
            "ema_decay": args.ema_decay,
            "progress": False,
        },
        "seed": seed,
    }
    d = apply_overrides(d, args.set or [])
    if algorithm == "auto":  # the same settings; auto cross-validates and trains its choice
        del d["algorithm"]
        t = time.perf_counter()
        summary = semisup.auto_fit(d, None, data=data, verbose=False).summary
        return {
            "test_accuracy": summary["test_accuracy"],
            "train_seconds": time.perf_counter() - t,
            "choice": summary["auto"]["choice"],
            "search_seconds": summary["auto"]["search_seconds"],
            "final_seconds": summary["auto"]["final_seconds"],
        }
    cfg = semisup.RunConfig.from_dict(d)
    summary = semisup.fit(cfg, None, data=data).summary
    return {"test_accuracy": summary["test_accuracy"], "train_seconds": summary["train_seconds"]}


def run_classic(method: str, data: SSLDataset) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t = time.perf_counter()
    lab = data.y >= 0
    flat, flat_test = data.X.reshape(len(data.X), -1), data.X_test.reshape(len(data.X_test), -1)
    if method == CLASSIC[0]:
        model = KNeighborsClassifier(n_neighbors=1)
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(flat[lab], data.y[lab])
    acc = float((model.predict(flat_test) == data.y_test).mean())
    return {"test_accuracy": acc, "train_seconds": time.perf_counter() - t}


def cells(args: argparse.Namespace, name: str, y: np.ndarray) -> list[tuple[int, int, str]]:
    """(labels per class, seed, method) to run on one set; the ceiling once per seed (it uses every
    training label of the seed's split, whatever the label budget)."""
    smallest = int(np.bincount(y).min())
    out: list[tuple[int, int, str]] = []
    for lpc in args.lpc:
        if lpc >= (1 - args.test_fraction) * smallest:
            print(f"{name}: skip lpc={lpc}, only {smallest} examples in the smallest class", flush=True)
            continue
        methods = [m for m in args.methods if m not in ("ceiling", "classic")]
        methods += list(CLASSIC) * ("classic" in args.methods)
        out += [(lpc, seed, m) for seed in args.seeds for m in methods]
    if out and "ceiling" in args.methods:
        out += [(out[0][0], seed, CEILING) for seed in args.seeds]
    return out


def read_back(log: Path, args: argparse.Namespace) -> dict[tuple, dict[str, Any]]:
    """Finished cells of an earlier run with the same settings; another setting is an error."""
    done: dict[tuple, dict[str, Any]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        r = json.loads(line)
        if r["method"] not in CLASSIC and (r["steps"], r["overrides"]) != (args.steps, args.set or []):
            raise SystemExit(
                f"{log} holds runs with steps={r['steps']} overrides={r['overrides']}; delete it or pass "
                "another --out to run with other settings"
            )
        done[(r["data"], r["labels_per_class"], r["method"], r["seed"])] = r
    return done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", nargs="+", default=SETS)
    p.add_argument("--labels-per-class", type=int, nargs="+", default=[5], dest="lpc")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=["supervised", "fixmatch", "ceiling", "classic"])
    p.add_argument("--test-fraction", type=float, default=0.3)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--mu", type=int, default=4)
    p.add_argument("--ema-decay", type=float, default=0.99)
    p.add_argument("--set", action="append", help="config override for every deep run (key=value)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    done = read_back(log, args)
    rows = []
    for name in args.sets:
        X, y, classes = load_ucr(name)
        for lpc, seed, method in cells(args, name, y):
            key = (name, "all" if method == CEILING else lpc, method, seed)
            if key in done:
                rows.append(done[key])
                continue
            data = make_data(name, X, y, classes, split(y, lpc, args.test_fraction, seed), method == CEILING)
            if method in CLASSIC:
                res = run_classic(method, data)
            else:
                res = run_deep(data, "supervised" if method == CEILING else method, seed, args)
            rows.append(
                {
                    "data": name,
                    "labels_per_class": key[1],
                    "method": method,
                    "seed": seed,
                    "n_labeled": int((data.y >= 0).sum()),
                    "n_unlabeled": int((data.y < 0).sum()),
                    "n_test": len(data.y_test),
                    "steps": args.steps,
                    "overrides": args.set or [],
                    **res,
                }  # fmt: skip
            )
            with log.open("a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
            acc, sec = 100 * res["test_accuracy"], res["train_seconds"]
            print(f"{name} lpc={key[1]} {method} seed {seed}: {acc:.2f}% in {sec:.1f}s", flush=True)
    table = markdown_table(rows)
    (out / "results.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
