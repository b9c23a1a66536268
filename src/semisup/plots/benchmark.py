"""Accuracy against label budget for a benchmark grid: one panel per data set, one line per algorithm
(mean over seeds, ± one std band), the fully supervised ceiling as a horizontal line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from semisup.benchmark import CEILING


def plot_benchmark(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Save ``benchmark_figure(rows)`` as a PNG at ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    benchmark_figure(rows).savefig(path)
    return path


def benchmark_figure(rows: list[dict[str, Any]]) -> Figure:
    """The figure for the rows of ``run_grid`` (``data``, ``labels_per_class``, ``method``,
    ``test_accuracy``): panel i is ``fig.axes[i]``, one ``Line2D`` per method in row order."""

    datasets = list(dict.fromkeys(r["data"] for r in rows))
    fig = Figure(figsize=(5.0 * len(datasets), 3.8), dpi=90)
    axes = np.atleast_1d(fig.subplots(1, len(datasets)))
    for ax, data in zip(axes, datasets, strict=True):
        rs = [r for r in rows if r["data"] == data]
        budgets = sorted({int(r["labels_per_class"]) for r in rs if r["method"] != CEILING})
        for method in dict.fromkeys(r["method"] for r in rs if r["method"] != CEILING):
            mine = [r for r in rs if r["method"] == method]
            acc = [[100 * r["test_accuracy"] for r in mine if int(r["labels_per_class"]) == b]
                   for b in budgets]  # fmt: skip
            xs = [b for b, a in zip(budgets, acc, strict=True) if a]
            mean = np.array([np.mean(a) for a in acc if a])
            sd = np.array([np.std(a, ddof=1) if len(a) > 1 else 0.0 for a in acc if a])
            (line,) = ax.plot(xs, mean, "--" if method == "supervised" else "-", marker="o", label=method)
            ax.fill_between(xs, mean - sd, mean + sd, color=line.get_color(), alpha=0.15, linewidth=0)
        ceil = [100 * r["test_accuracy"] for r in rs if r["method"] == CEILING]
        if ceil:
            ax.axhline(float(np.mean(ceil)), color="gray", ls=":", label="all labels (ceiling)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.set_xlabel("labels per class")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(data, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
