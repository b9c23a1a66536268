"""Decision boundaries of 2-D classifiers and scatter plots of labeled/unlabeled points.

Drawn on a ``matplotlib.axes.Axes``; nothing here touches pyplot's global state, so it works in
scripts (Agg), notebooks and servers alike.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

# Class colors (colour-blind safe: blue, orange, green, ...) and their light versions for regions.
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def grid_for(X: np.ndarray, n: int = 200, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(n, n) mesh covering the 2-D points X (N, 2) with a relative margin."""
    lo, hi = X.min(0), X.max(0)
    pad = margin * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    return np.meshgrid(xs, ys)


def draw_points(
    ax: Axes,
    X: np.ndarray,
    y: np.ndarray,
    labeled: np.ndarray | None = None,
    class_names: list[str] | None = None,
) -> None:
    """Scatter X (N, 2) coloured by class y (N,); ``labeled`` (N,) bool points are drawn large, edged.

    Points with y = -1 (class unknown) are grey.
    """
    labeled = np.zeros(len(X), bool) if labeled is None else labeled
    unk = y < 0
    if unk.any():
        ax.scatter(*X[unk & ~labeled].T, s=6, c="#bbbbbb", linewidths=0, label="unlabeled")
    for k in np.unique(y[y >= 0]):
        m = (y == k) & ~labeled
        name = class_names[k] if class_names else str(k)
        ax.scatter(*X[m].T, s=6, c=COLORS[k % len(COLORS)], alpha=0.45, linewidths=0, label=f"class {name}")
    for k in np.unique(y[labeled]):
        m = labeled & (y == k)
        ax.scatter(
            *X[m].T,
            s=130,
            c=COLORS[k % len(COLORS)],
            marker="*",
            edgecolors="black",
            linewidths=1.0,
            zorder=5,
        )


def draw_boundary(
    ax: Axes, predict_proba: Callable[[np.ndarray], np.ndarray], X: np.ndarray, n: int = 200
) -> np.ndarray:
    """Shade the predicted class over the area of X (N, 2) and draw where the prediction changes.

    Args:
        predict_proba: (M, 2) float32 inputs -> (M, C) probabilities.
    Returns:
        The (n, n) predicted class ids on the mesh.
    """
    xx, yy = grid_for(X, n)
    P = predict_proba(np.c_[xx.ravel(), yy.ravel()].astype(np.float32))
    C = P.shape[1]
    pred = P.argmax(1).reshape(xx.shape)
    cmap = ListedColormap([COLORS[k % len(COLORS)] for k in range(C)])
    ax.contourf(xx, yy, pred, levels=np.arange(C + 1) - 0.5, cmap=cmap, alpha=0.18)
    ax.contour(xx, yy, pred, levels=np.arange(C) + 0.5, colors="black", linewidths=1.5)
    return pred


def tidy(ax: Axes, title: str, X: np.ndarray | None = None) -> None:
    """Title, no ticks; with X (N, 2) the limits of ``grid_for(X)`` so every panel shows the same area."""
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    if X is not None:
        xx, yy = grid_for(X, 2)
        ax.set_xlim(xx[0, 0], xx[0, -1])
        ax.set_ylim(yy[0, 0], yy[-1, 0])
