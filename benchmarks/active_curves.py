"""Active-learning curves: test accuracy vs number of labels, with and without SSL retraining.

For each data set, strategy, learner and seed one :class:`semisup.active.ActiveLoop` runs with a
simulated oracle on the training pool and records the test accuracy after every batch.

- Data: ``digits`` (1,257 pool / 540 test; 64 pixels in [0, 1]) and ``mnist5k`` (4,000 / 1,000;
  784 pixels in [0, 1] reduced by PCA to 50 dimensions, fitted on the unlabeled pool without labels).
  The same features are the embeddings of the diversity and cold-start strategies.
- Learners: ``supervised`` = ``LogisticRegression(max_iter=1000)`` on the labeled items only;
  ``ssl`` = ``semisup.classic.LabelSpreading()`` (kNN graph, package defaults ``n_neighbors=10``,
  ``alpha=0.9``) fitted on the labeled items *and* the rest of the pool (AL x SSL).
- Strategies: ``random`` (random start, random batches: the baseline without semisup), and, each started
  from ``--initial`` labels picked by TypiClust (cold start): ``margin``, ``entropy``, ``coreset``,
  ``typiclust`` (the cold-start strategy kept on for every batch), ``margin-diverse`` (margin over the 5 n
  most uncertain items, spread by k-center greedy: ``candidate_factor=5``); ``margin-random-start`` is
  margin from 10 random labels (not plotted), to separate the cold start's share.
- The random/supervised baseline is also extended (``--extend``) until it reaches 95 % or the pool ends.

Results: one JSON file per cell under ``OUT/cells`` (finished cells are skipped on a rerun), a summary
``OUT/summary.md`` (labels to reach 90/95 % and accuracy at 10/20/30/50/100(/200) labels, from the mean
curve over seeds) and ``OUT/active_curves.png`` (mean ± std bands).

Usage::

    python benchmarks/active_curves.py --datasets digits mnist5k --seeds 0 1 2 \\
        --out benchmarks/results/active_curves
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from semisup.active import ActiveLoop, SimulatedOracle
from semisup.classic import LabelSpreading
from semisup.data.load import read_data

STRATEGIES = {  # name -> (query strategy, start strategy, candidate_factor)
    "random": ("random", "random", 1.0),
    "margin": ("margin", "typiclust", 1.0),
    "entropy": ("entropy", "typiclust", 1.0),
    "coreset": ("coreset", "typiclust", 1.0),
    "typiclust": ("typiclust", "typiclust", 1.0),
    "margin-diverse": ("margin", "typiclust", 5.0),
    "margin-random-start": ("margin", "random", 1.0),
}
NOT_PLOTTED = ("random-extended", "margin-random-start")
SETTINGS = {  # data set -> batch size, budget, budget of the extended random/supervised curve and its batch
    "digits": {"batch": 5, "budget": 100, "extend_batch": 20, "report_at": (10, 20, 30, 50, 100)},
    "mnist5k": {"batch": 10, "budget": 200, "extend_batch": 100, "report_at": (10, 20, 30, 50, 100, 200)},
}
TARGETS = (0.90, 0.95)


def features(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_pool, y_pool, X_test, y_test)``: flattened pixels, PCA-50 for mnist5k (fitted on the pool)."""
    data = read_data(name).validate()
    X = data.X.reshape(len(data.X), -1).astype(np.float64)
    Xt = data.X_test.reshape(len(data.X_test), -1).astype(np.float64)
    if X.shape[1] > 100:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=50, random_state=0).fit(X)
        X, Xt = pca.transform(X), pca.transform(Xt)
    return X, data.y, Xt, data.y_test


def learner(kind: str):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000) if kind == "supervised" else LabelSpreading()


def run_cell(data: tuple, strategy: str, kind: str, seed: int, batch: int, budget: int, initial: int) -> dict:
    X, y, Xt, yt = data
    name, start, factor = STRATEGIES[strategy]
    loop = ActiveLoop(
        learner(kind), name, batch_size=batch, budget=budget, initial_size=initial,
        initial_strategy=start, candidate_factor=factor, seed=seed,
    )  # fmt: skip
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of LabelSpreading/LogisticRegression
        result = loop.run(X, SimulatedOracle(y), X_test=Xt, y_test=yt)
    n, acc = result.curve()
    return {
        "n_labels": n.tolist(),
        "accuracy": acc.tolist(),
        "seconds": time.perf_counter() - t0,
        "fit_seconds": sum(r.fit_seconds for r in result.history),
        "query_seconds": sum(r.query_seconds for r in result.history),
        "stop_reason": result.stop_reason,
    }


def mean_curve(cells: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.array(cells[0]["n_labels"])
    acc = np.array([c["accuracy"] for c in cells])
    return n, acc.mean(0), acc.std(0, ddof=1) if len(acc) > 1 else np.zeros(len(n))  # sample std


def labels_to_reach(n: np.ndarray, mean: np.ndarray, target: float) -> int | None:
    hit = np.flatnonzero(mean >= target)
    return int(n[hit[0]]) if len(hit) else None


def summarize(results: dict, datasets: list[str], seeds: list[int]) -> str:
    lines = []
    for ds in datasets:
        report_at = SETTINGS[ds]["report_at"]
        lines += [
            f"#### {ds} ({len(seeds)} seeds; mean ± std of test accuracy, %)",
            "",
            "| strategy | learner | labels to 90 % | labels to 95 % | "
            + " | ".join(f"acc @ {k}" for k in report_at)
            + " | s / run |",
            "|---|---|---|---|" + "---|" * len(report_at) + "---|",
        ]
        for (d, strategy, kind), cells in results.items():
            if d != ds:
                continue
            n, m, s = mean_curve(cells)
            top = n.max()
            reach = [labels_to_reach(n, m, t) for t in TARGETS]
            reach_s = [str(r) if r is not None else f"> {top}" for r in reach]
            accs = []
            for k in report_at:
                i = np.flatnonzero(n == k)
                accs.append(f"{100 * m[i[0]]:.1f} ± {100 * s[i[0]]:.1f}" if len(i) else "–")
            secs = np.mean([c["seconds"] for c in cells])
            label = "SSL (LabelSpreading)" if kind == "ssl" else "supervised (LogReg)"
            row = [strategy, label, *reach_s, *accs, f"{secs:.1f}"]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(results: dict, datasets: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.6), squeeze=False)
    colors = dict(zip(STRATEGIES, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, ds in zip(axes[0], datasets, strict=True):
        budget = SETTINGS[ds]["budget"]
        for (d, strategy, kind), cells in results.items():
            if d != ds or strategy in NOT_PLOTTED:
                continue
            n, m, s = mean_curve(cells)
            style = "-" if kind == "ssl" else "--"
            ax.plot(n, 100 * m, style, color=colors[strategy], lw=1.4, label=f"{strategy}, {kind}")
            ax.fill_between(n, 100 * (m - s), 100 * (m + s), color=colors[strategy], alpha=0.12, lw=0)
        ax.axhline(95, color="gray", lw=0.8, ls=":")
        ax.set(xlim=(0, budget), ylim=(40, 100), xlabel="labels", ylabel="test accuracy (%)", title=ds)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=2, loc="lower right")
    title = "Active learning: solid = AL x SSL (LabelSpreading), dashed = supervised (LogReg)"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "mnist5k"], choices=sorted(SETTINGS))
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    p.add_argument("--learners", nargs="+", default=["supervised", "ssl"], choices=["supervised", "ssl"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--initial", type=int, default=10, help="labels in round 0")
    p.add_argument("--no-extend", dest="extend", action="store_false", help="skip the long random curve")
    p.add_argument("--out", default="benchmarks/results/active_curves")
    args = p.parse_args(argv)
    out = Path(args.out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for ds in args.datasets:
        data = features(ds)
        cfg = SETTINGS[ds]
        plan = [(s, k, cfg["batch"], cfg["budget"]) for s in args.strategies for k in args.learners]
        if args.extend:
            plan.append(("random-extended", "supervised", cfg["extend_batch"], len(data[1])))
        for strategy, kind, batch, budget in plan:
            for seed in args.seeds:
                path = out / "cells" / f"{ds}-{strategy}-{kind}-seed{seed}.json"
                if path.exists():
                    cell = json.loads(path.read_text())
                else:
                    base = "random" if strategy == "random-extended" else strategy
                    initial = batch if strategy == "random-extended" else args.initial
                    cell = run_cell(data, base, kind, seed, batch, budget, initial)
                    path.write_text(json.dumps(cell))
                    last = f"{100 * cell['accuracy'][-1]:.1f} % at {cell['n_labels'][-1]} labels"
                    print(f"{ds} {strategy} {kind} seed {seed}: {last}, {cell['seconds']:.1f} s", flush=True)
                results.setdefault((ds, strategy, kind), []).append(cell)
    table = summarize(results, args.datasets, args.seeds)
    load = os.getloadavg()
    threads = os.environ.get("OMP_NUM_THREADS")
    header = (
        f"machine: {platform.node()}, {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} "
        f"{load[2]:.1f} at the end; OMP_NUM_THREADS={threads}\n\n"
    )
    (out / "summary.md").write_text(header + table)
    plot(results, args.datasets, out / "active_curves.png")
    print(header + table)


if __name__ == "__main__":
    main()
