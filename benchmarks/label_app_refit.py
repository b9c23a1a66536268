"""Labeling app: how long a background refit takes and how often its suggestion is right.

For each data set, seed and label budget (labels per class, drawn at random), the app's two fast models
fit on the given labels plus every other item as unlabeled:

- ``spreading``: label spreading on a kNN graph built once (``GraphSpreader``): first fit (graph + spread)
  and a refit (spread only, what the app does every ``--retrain-every`` labels);
- ``self_training``: class-balanced self-training around a logistic regression (refit from scratch).

"agreement" is the share of the unlabeled items whose suggestion equals their true label, i.e. what the
page's estimated accuracy measures once a person labels them.

    python benchmarks/label_app_refit.py [--data digits mnist5k] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from semisup.app import fit_proba, load_items
from semisup.app.model import GraphSpreader
from semisup.data.load import read_data


def draw(y_true: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.full(len(y_true), -1)
    for c in np.unique(y_true):
        y[rng.choice(np.flatnonzero(y_true == c), per_class, replace=False)] = c
    return y


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", nargs="+", default=["digits", "mnist5k"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--per-class", nargs="+", type=int, default=[2, 10], dest="per_class")
    args = p.parse_args()
    print("| data | N | labels/class | model | first fit (s) | refit (s) | agreement on unlabeled |")
    print("|---|---|---|---|---|---|---|")
    for name in args.data:
        items, y_true = load_items(name), read_data(name).y
        C = len(items.classes)
        for per in args.per_class:
            rows: dict[str, list[tuple[float, float, float]]] = {"spreading": [], "self_training": []}
            for seed in args.seeds:
                y = draw(y_true, per, seed)
                g = GraphSpreader(items.features)
                t = time.perf_counter()
                g.proba(y, C)
                first = time.perf_counter() - t
                t = time.perf_counter()
                proba = g.proba(y, C)
                refit = time.perf_counter() - t
                rows["spreading"].append((first, refit, (proba.argmax(1) == y_true)[y < 0].mean()))
                t = time.perf_counter()
                proba = fit_proba(items.features, y, C, "self_training")
                took = time.perf_counter() - t
                rows["self_training"].append((took, took, (proba.argmax(1) == y_true)[y < 0].mean()))
            for model, r in rows.items():
                a = np.array(r)
                m, s = a.mean(axis=0), a.std(axis=0)
                print(
                    f"| {name} | {len(items)} | {per} | {model} | {m[0]:.2f} ± {s[0]:.2f} "
                    f"| {m[1]:.3f} ± {s[1]:.3f} | {100 * m[2]:.1f} ± {100 * s[2]:.1f} % |"
                )


if __name__ == "__main__":
    main()
