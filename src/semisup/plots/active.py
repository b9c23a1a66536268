"""Active-learning curves: test accuracy against the number of labels, one line per strategy (mean over
seeds, ± one std band); the ``random`` baseline dashed."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from semisup.active.curves import curve_stats


def plot_active_curves(rows: list[dict], path: str | Path, title: str = "") -> Path:
    """Save ``active_curves_figure(rows, title)`` as a PNG at ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    active_curves_figure(rows, title).savefig(path)
    return path


def active_curves_figure(rows: list[dict], title: str = "") -> Figure:
    """The figure for the rows of :func:`semisup.active.curves.learning_curves`: one ``Line2D`` per
    strategy in row order on ``fig.axes[0]``."""
    fig = Figure(figsize=(6.0, 4.2), dpi=90)
    ax = fig.subplots()
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        n, mean, std = curve_stats(rows, strategy)
        style = "--" if strategy == "random" else "-"
        (line,) = ax.plot(n, 100 * mean, style, marker="o", markersize=3, label=strategy)
        ax.fill_between(n, 100 * (mean - std), 100 * (mean + std), color=line.get_color(), alpha=0.15, lw=0)
    seeds = len({r["seed"] for r in rows})
    ax.set_xlabel("labels")
    ax.set_ylabel(f"test accuracy (%), mean ± std over {seeds} seed{'s' * (seeds > 1)}")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
