"""``semisup plot RUN_DIR``: one PNG with what a run did — ``RUN_DIR/plots.png``.

Panels: losses by part (``train/sup_loss``, ``train/unsup_loss``, weighted total ``train/loss``),
mask ratio and pseudo-label accuracy (``train/mask_ratio``, ``train/pseudo_acc``; what the algorithm
logs), test accuracy over training (``val/acc``; for open-set runs also ``val/unknown_auroc``), the
confusion matrix of the final model on the test split (``semisup.load``), and for 2-D vector data the
decision boundary over the training points.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from semisup.data.dataset import SSLDataset


def read_metrics(run_dir: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``metrics.csv`` as {column: (steps, values)}, keeping only the rows where the column is set."""
    path = Path(run_dir) / "metrics.csv"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} has no metrics.csv: is it a run folder (semisup train --out)?")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = {}
    for col in rows[0] if rows else []:
        pts = [(float(r["step"]), float(r[col])) for r in rows if r.get(col) not in ("", None)]
        if col != "step" and pts:
            s, v = zip(*pts, strict=True)
            out[col] = (np.array(s), np.array(v))
    return out


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    return np.bincount(num_classes * y_true + y_pred, minlength=num_classes**2).reshape(num_classes, -1)


def _lines(ax: Axes, m: dict, cols: dict[str, str], title: str, ylabel: str) -> None:
    drawn = False
    for col, label in cols.items():
        if col in m:
            ax.plot(*m[col], marker="." if len(m[col][0]) < 30 else None, label=label)
            drawn = True
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "not logged by this algorithm", ha="center", va="center", transform=ax.transAxes)


def _confusion_panel(ax: Axes, cm: np.ndarray, classes: list[str]) -> None:
    C = len(classes)
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    if C <= 12:
        for i in range(C):
            for j in range(C):
                if cm[i, j]:
                    color = "white" if rates[i, j] > 0.6 else "black"
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7, color=color)
    ticks = np.arange(C) if C <= 20 else np.arange(0, C, max(1, C // 10))
    ax.set_xticks(ticks, [classes[t] for t in ticks], fontsize=7, rotation=90 if C > 6 else 0)
    ax.set_yticks(ticks, [classes[t] for t in ticks], fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"test confusion matrix (accuracy {100 * acc:.1f}%)", fontsize=10)


def plot_run(run_dir: str | Path, data: SSLDataset | None = None, out: str | Path | None = None) -> Path:
    """Draw ``RUN_DIR/plots.png`` (or ``out``) for a finished run folder; return its path.

    Args:
        data: the run's data, if not ``load_dataset(config.data, config.seed)`` (e.g. arrays passed
            to ``fit(..., data=...)``); needed for the confusion matrix and the boundary.
    """
    from matplotlib.figure import Figure

    from semisup.data.load import load_dataset
    from semisup.plots.boundary import draw_boundary, draw_points, tidy
    from semisup.predictor import load

    run_dir = Path(run_dir)
    m = read_metrics(run_dir)
    pred = load(run_dir)
    if data is None:
        data = load_dataset(pred.config.data, pred.config.seed)
    boundary = data.kind == "vector" and data.X.shape[1] == 2
    n = 5 if boundary else 4
    fig = Figure(figsize=(4.0 * n, 3.6), dpi=80)
    axes = fig.subplots(1, n)
    _lines(axes[0], m, {"train/sup_loss": "supervised", "train/unsup_loss": "unsupervised",
                        "train/loss": "total (weighted)"}, "training losses", "loss")  # fmt: skip
    _lines(axes[1], m, {"train/mask_ratio": "mask ratio", "train/pseudo_acc": "pseudo-label accuracy"},
           "unlabeled batch", "fraction")  # fmt: skip
    # open-set runs (test inputs of unknown classes): the AUROC of the unknown score on the same axis
    _lines(axes[2], m, {"val/acc": "accuracy", "val/balanced_acc": "balanced accuracy",
                        "val/unknown_auroc": "unknown-class AUROC"}, "test accuracy", "accuracy")  # fmt: skip
    if data.X_test is not None and data.y_test is not None:
        ids = pred.predict_ids(data.X_test)
        _confusion_panel(axes[3], confusion(data.y_test, ids, data.num_classes), list(data.classes))
    else:
        axes[3].text(0.5, 0.5, "no test split", ha="center", va="center", transform=axes[3].transAxes)
        axes[3].set_axis_off()
    if boundary:
        y = np.where(data.y_true >= 0, data.y_true, data.y) if data.y_true is not None else data.y
        draw_boundary(axes[4], pred.predict_proba, data.X)
        draw_points(axes[4], data.X, y, data.labeled_mask)
        tidy(axes[4], f"decision boundary ({data.n_labeled} labeled ★)", data.X)
    cfg = pred.config
    fig.suptitle(f"{run_dir.name}: {cfg.algorithm} on {data.name}, {cfg.train.steps} steps", fontsize=11)
    fig.tight_layout()
    path = Path(out) if out is not None else run_dir / "plots.png"
    fig.savefig(path)
    return path
