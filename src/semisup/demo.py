"""``semisup demo``: the classic SSL picture on two moons with 8 labels, as a figure and in numbers.

Four panels (one PNG): (a) the 8 labeled and 992 unlabeled points with their true classes, (b) the
boundary a supervised MLP draws from the 8 labels, (c) k-means (k=2) clusters of all points, (d) the
boundary of the Π-model (Laine & Aila 2017), which uses the unlabeled points too. On two moons the
Π-model's consistency follows the gap between the moons; FixMatch (printed, not drawn) keeps the
supervised net's confident mistakes through its confidence threshold (see BENCHMARKS.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from semisup.config import RunConfig

SSL_DRAWN = "pi_model"  # the SSL algorithm that wins on two moons (BENCHMARKS.md): panel (d)


def demo_config(algorithm: str, steps: int, seed: int) -> RunConfig:
    """Two moons with 4 labels per class and an MLP; small input noise (5% of each feature's std) as
    the weak view, which suits 2-D data better than the default 10%."""
    return RunConfig.from_dict(
        {
            "algorithm": {"name": algorithm},
            "net": {"name": "mlp"},
            "data": {"name": "moons", "labels_per_class": 4, "batch_size": 64, "mu": 7},
            "augment": {"noise_std": 0.05},
            "train": {
                "steps": steps,
                "eval_every": steps,
                "log_every": max(1, steps // 10),
                "checkpoint_every": steps,
                "progress": False,
            },
            "seed": seed,
        }
    )


def kmeans_accuracy(X: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, seed: int) -> tuple[Any, float]:
    """k-means (k=2) fitted on X (N, 2); test accuracy under the better of the two cluster→class maps
    (the most favourable reading of the clusters). Returns (fitted KMeans, accuracy)."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(X)
    c = km.predict(X_test)
    acc = max(float((c == y_test).mean()), float((1 - c == y_test).mean()))
    return km, acc


def run_demo(
    out: str | Path = "runs/demo", steps: int = 1000, seed: int = 0, fixmatch: bool = False
) -> dict[str, Any]:
    """Train supervised, the Π-model (and FixMatch) on the same 8 labels, run k-means, draw the figure.

    Returns:
        {"supervised": acc, "pi_model": acc, "fixmatch": acc (if trained), "kmeans": acc,
        "figure": path of ``OUT/two_moons.png``}; accuracies are on the 1,000 test points.
    """
    from semisup.data.load import load_dataset
    from semisup.predictor import load
    from semisup.run import fit

    out = Path(out)
    algos = ["supervised", SSL_DRAWN] + (["fixmatch"] if fixmatch else [])
    results: dict[str, Any] = {}
    for algo in algos:
        run = out / algo
        if run.exists():  # the demo always starts fresh
            shutil.rmtree(run)
        res = fit(demo_config(algo, steps, seed), run)
        results[algo] = res.summary["test_accuracy"]
        print(
            f"{algo:>12}: test accuracy {100 * results[algo]:.1f}% "
            f"({res.summary['n_labeled']} labels, {res.summary['train_seconds']:.1f}s) -> {run}"
        )
    data = load_dataset(demo_config("supervised", steps, seed).data, seed)
    km, results["kmeans"] = kmeans_accuracy(data.X, data.X_test, data.y_test, seed)
    print(f"{'k-means':>12}: test accuracy {100 * results['kmeans']:.1f}% (clusters matched to classes)")
    predictors = {a: load(out / a) for a in ("supervised", SSL_DRAWN)}
    results["figure"] = draw_demo(data, predictors, km, results, out / "two_moons.png")
    print(f"figure: {results['figure']}")
    return results


def draw_demo(data: Any, predictors: dict[str, Any], km: Any, acc: dict[str, Any], path: Path) -> Path:
    """The four-panel figure; ``predictors`` maps "supervised" and ``SSL_DRAWN`` to ``Predictor``s."""
    from matplotlib.figure import Figure

    from semisup.plots.boundary import COLORS, draw_boundary, draw_points, tidy

    X, lab = data.X, data.labeled_mask
    y_true = np.where(data.y_true >= 0, data.y_true, data.y)
    n_lab = int(lab.sum())
    fig = Figure(figsize=(13, 3.6), dpi=90)
    axes = fig.subplots(1, 4)
    draw_points(axes[0], X, y_true, lab, data.classes)
    tidy(axes[0], f"(a) {n_lab} labeled (★), {len(X) - n_lab} unlabeled\ncolour = true class", X)
    ax = axes[1]
    draw_boundary(ax, predictors["supervised"].predict_proba, X)
    draw_points(ax, X, y_true, lab)
    tidy(ax, f"(b) supervised, {n_lab} labels only\ntest accuracy {100 * acc['supervised']:.1f}%", X)
    ax = axes[2]
    clusters = km.predict(X)
    # colour each cluster like the class it overlaps most, so colours read the same in every panel
    match = [int(np.bincount(y_true[clusters == k], minlength=2).argmax()) for k in range(2)]
    for k in range(2):
        ax.scatter(*X[clusters == k].T, s=6, c=COLORS[match[k]], alpha=0.6, linewidths=0)
    ax.scatter(*km.cluster_centers_.T, s=160, c="black", marker="X")
    tidy(ax, f"(c) k-means (k=2) on all points\nclusters as classes: {100 * acc['kmeans']:.1f}%", X)
    ax = axes[3]
    draw_boundary(ax, predictors[SSL_DRAWN].predict_proba, X)
    draw_points(ax, X, y_true, lab)
    tidy(ax, f"(d) SSL (Π-model), {n_lab} labels + unlabeled\ntest accuracy {100 * acc[SSL_DRAWN]:.1f}%", X)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
