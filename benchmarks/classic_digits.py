"""digits, 4 labels per class: semisup.classic vs scikit-learn on exactly the same splits, in one run.

The split is semisup's (``semisup.load_dataset``: the built-in ``digits``, stratified 70/30 -> 1,257
train / 540 test, 4 labels per class drawn with the seed), so every method sees the same 40 labels, the
same 1,217 unlabeled training images and the same test set. Pixels are flattened to 64 features in
[0, 1] for the classic methods. Reported: accuracy on the 540 test images (and, for the graph methods,
on the 1,217 unlabeled training images).

Methods (``--methods``):

- ``ours_spreading`` / ``ours_propagation``: :class:`semisup.classic.LabelSpreading` /
  ``LabelPropagation`` with their defaults (10 neighbours, Gaussian weights, alpha 0.9);
- ``sklearn_spreading``: ``sklearn.semi_supervised.LabelSpreading(kernel="knn")`` with its defaults;
- ``logreg`` / ``ours_self_training``: logistic regression on the 40 labels alone, and wrapped in
  :class:`semisup.classic.SelfTrainingClassifier` (class-balanced, 10 per class per round, 10 rounds);
  ``sklearn_self_training``: scikit-learn's ``SelfTrainingClassifier`` (threshold 0.75) around it;
- ``deep``: :class:`semisup.classic.DeepSSLClassifier` (FixMatch, CNN width 16 on the 8x8 images,
  ``--steps`` steps): the same engine and settings as ``semisup train`` in BENCHMARKS.md's issue-3 table;
- ``cli``: ``semisup.fit`` with the CLI's config for the same run, for a same-seed parity check.

Usage::

    python benchmarks/classic_digits.py --seeds 0 1 2 3 4 --out benchmarks/results/classic_digits.jsonl
    python benchmarks/classic_digits.py --seeds 0 1 2 --methods deep --steps 1000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

CLASSIC = (
    "ours_spreading",
    "ours_propagation",
    "sklearn_spreading",
    "logreg",
    "ours_self_training",
    "sklearn_self_training",
)
METHODS = (*CLASSIC, "deep", "cli")


def digits_split(seed: int):
    """``(X_train (N, 1, 8, 8), y_partial (N,), y_train_true (N,), X_test, y_test)`` from semisup."""
    import semisup
    from semisup.config import DataConfig

    data = semisup.load_dataset(DataConfig(name="digits", labels_per_class=4), seed)
    return data.X, data.y, data.y_true, data.X_test, data.y_test


def classic_model(method: str):
    from sklearn.linear_model import LogisticRegression

    logreg = LogisticRegression(max_iter=2000)
    if method == "ours_spreading":
        from semisup.classic import LabelSpreading

        return LabelSpreading()
    if method == "ours_propagation":
        from semisup.classic import LabelPropagation

        return LabelPropagation()
    if method == "sklearn_spreading":
        from sklearn.semi_supervised import LabelSpreading

        return LabelSpreading(kernel="knn")
    if method == "logreg":
        return logreg
    if method == "ours_self_training":
        from semisup.classic import SelfTrainingClassifier

        return SelfTrainingClassifier(logreg, criterion="class_balanced", k_best=10, max_iter=10)
    if method == "sklearn_self_training":
        from sklearn.semi_supervised import SelfTrainingClassifier

        return SelfTrainingClassifier(logreg)
    raise ValueError(f"unknown method {method!r}")


def run_classic(method: str, seed: int) -> dict:
    X, y, y_true, X_test, y_test = digits_split(seed)
    Xf, Xf_test = X.reshape(len(X), -1), X_test.reshape(len(X_test), -1)
    model = classic_model(method)
    t0 = time.perf_counter()
    if method == "logreg":
        model.fit(Xf[y >= 0], y[y >= 0])
    else:
        model.fit(Xf, y)
    row = {"fit_s": round(time.perf_counter() - t0, 3)}
    row["test_acc"] = float((model.predict(Xf_test) == y_test).mean())
    if hasattr(model, "label_distributions_"):  # graph methods label every training point
        u = y < 0
        row["unlabeled_acc"] = float((model.transduction_[u] == y_true[u]).mean())
    return row


def deep_config(seed: int, steps: int) -> dict:
    """The CLI run of BENCHMARKS.md (issue 3, 1,000-step table) as estimator arguments."""
    return dict(
        algorithm="fixmatch",
        net="cnn",
        net_params={"width": 16},
        steps=steps,
        batch_size=64,
        mu=7,
        image_shape=(1, 8, 8),
        random_state=seed,
    )


def run_deep(seed: int, steps: int) -> dict:
    from semisup.classic import DeepSSLClassifier

    X, y, _, X_test, y_test = digits_split(seed)
    clf = DeepSSLClassifier(**deep_config(seed, steps))
    t0 = time.perf_counter()
    clf.fit(X.reshape(len(X), -1), y)
    return {
        "fit_s": round(time.perf_counter() - t0, 3),
        "test_acc": float(clf.score(X_test.reshape(len(X_test), -1), y_test)),
    }


def run_cli(seed: int, steps: int) -> dict:
    """``semisup train --data digits --labels-per-class 4 --algorithm fixmatch --set net.name=cnn ...``"""
    import semisup

    cfg = semisup.RunConfig.from_dict(
        {
            "algorithm": "fixmatch",
            "net": {"name": "cnn", "width": 16},
            "data": {"name": "digits", "labels_per_class": 4},
            # as benchmarks/ssl_grid.py (semisup.benchmark.Grid) runs it
            "train": {
                "steps": steps,
                "progress": False,
                "eval_every": steps // 5,
                "checkpoint_every": steps // 5,
            },
            "seed": seed,
        }
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        semisup.fit(cfg, Path(tmp) / "run")
        X, _, _, X_test, y_test = digits_split(seed)
        pred = semisup.load(Path(tmp) / "run").predict_ids(X_test)
    return {"fit_s": round(time.perf_counter() - t0, 3), "test_acc": float((pred == y_test).mean())}


def summarise(rows: list[dict]) -> str:
    lines = ["| method | test accuracy % (mean ± std) | unlabeled-train accuracy % | seeds | fit s |"]
    lines.append("|---|---|---|---|---|")
    for method in METHODS:
        rs = [r for r in rows if r["method"] == method]
        if not rs:
            continue
        acc = 100 * np.array([r["test_acc"] for r in rs])
        un = [100 * r["unlabeled_acc"] for r in rs if "unlabeled_acc" in r]
        un_s = f"{np.mean(un):.2f} ± {np.std(un):.2f}" if un else "–"
        seeds = " ".join(str(r["seed"]) for r in rs)
        fit_s = np.mean([r["fit_s"] for r in rs])
        lines.append(f"| {method} | {acc.mean():.2f} ± {acc.std():.2f} | {un_s} | {seeds} | {fit_s:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", default=list(CLASSIC), choices=METHODS)
    p.add_argument("--steps", type=int, default=1000, help="for deep and cli")
    p.add_argument("--out", default=None, help="append result rows (JSON lines) here")
    args = p.parse_args(argv)
    rows = []
    for method in args.methods:
        for seed in args.seeds:
            if method == "deep":
                row = run_deep(seed, args.steps)
            elif method == "cli":
                row = run_cli(seed, args.steps)
            else:
                row = run_classic(method, seed)
            row = {"method": method, "seed": seed, **row}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print()
    print(summarise(rows))


if __name__ == "__main__":
    main()
