"""``semisup active DATA --strategy S --budget N``: simulated active learning on fully labeled data.

The data's labels play the labeler (a simulated oracle): each strategy picks ``--batch`` items per
round from the training pool, the learner is refitted, and its accuracy on the held-out test split is
recorded. Writes ``OUT/curve.csv`` (one row per strategy, seed and round) and
``OUT/curve.png`` (accuracy against labels, mean ± std over seeds), and prints a table. ``random``
(random start, random batches: labeling without active learning) runs alongside by default.

Only ``argparse`` is imported at module level: the parser is built for every ``semisup`` call.
"""

from __future__ import annotations

import argparse
from typing import Any

LEARNERS = {
    "logreg": "logistic regression on the labeled items (fast; --ssl adds self-training)",
    "spreading": "label spreading on a kNN graph of the whole pool (AL x SSL)",
    "deep": "a semisup run of an MLP with dropout each round (slow; gives MC-dropout passes for bald)",
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``semisup active`` on the ``semisup`` subparsers."""
    p = subparsers.add_parser(
        "active",
        help="simulated active learning on labeled data: learning curves of query strategies",
        description=__doc__.split("\n\n")[1].replace("``", ""),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="built-in name (semisup list) or a fully labeled .npz/.csv")
    p.add_argument("--strategy", default="margin", help="query strategy (semisup.active.STRATEGIES)")
    p.add_argument("--budget", type=int, default=100, help="labels in total, the initial ones included")
    p.add_argument("--batch", type=int, default=10, help="labels per round")
    p.add_argument("--initial", type=int, default=None, help="labels in round 0 (None: --batch)")
    p.add_argument("--start", default="typiclust", help="round-0 strategy (random always starts at random)")
    p.add_argument(
        "--compare", default="random", help="strategies to run alongside, comma-separated, or none"
    )
    p.add_argument(
        "--learner", choices=sorted(LEARNERS), default="logreg", help="the model refitted each round"
    )
    p.add_argument("--ssl", action="store_true", help="logreg: self-train on the unlabeled pool (AL x SSL)")
    p.add_argument("--algorithm", default="supervised", help="deep learner: the semisup algorithm")
    p.add_argument("--steps", type=int, default=300, help="deep learner: training steps per round")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one run per seed and strategy")
    p.add_argument("--test-fraction", type=float, default=0.25, dest="test_fraction",
                   help="held-out share when DATA has no test split")  # fmt: skip
    p.add_argument("--pca", type=int, default=50, help="reduce more features than this by PCA (0: never)")
    p.add_argument("--label-column", default="label", dest="label_column", help="the CSV column of labels")
    p.add_argument("--out", default=None, help="output folder (None: runs/active-DATA)")
    p.set_defaults(func=run)
    return p


def check_args(args: argparse.Namespace) -> list[str]:
    """The strategies to run, main one first; a ``ConfigError`` naming the flag for any mistake."""
    from semisup.active.strategies import get_strategy
    from semisup.config import ConfigError

    for flag, value, low in [("--budget", args.budget, 1), ("--batch", args.batch, 1),
                             ("--steps", args.steps, 1), ("--pca", args.pca, 0)]:  # fmt: skip
        if value < low:
            raise ConfigError(f"{flag} must be >= {low}, got {value}")
    if args.initial is not None and args.initial < 1:
        raise ConfigError(f"--initial must be >= 1, got {args.initial}")
    initial = args.batch if args.initial is None else args.initial
    if args.budget < initial:
        raise ConfigError(f"--budget {args.budget} is below the {initial} initial labels: raise --budget")
    if not 0 < args.test_fraction < 1:
        raise ConfigError(f"--test-fraction must be in (0, 1), got {args.test_fraction}")
    compare = [] if args.compare.strip().lower() in ("", "none") else args.compare.split(",")
    names = list(dict.fromkeys([args.strategy, *(c.strip() for c in compare)]))
    for name in [*names, args.start]:
        get_strategy(name)  # unknown -> UnknownNameError with the closest names
    if set(get_strategy(args.start).needs) & {"proba", "mc_proba"}:
        raise ConfigError(
            f"--start {args.start} needs a model, which round 0 lacks: "
            "use typiclust, kmeans, coreset or random"
        )
    for name in names:
        if "mc_proba" in get_strategy(name).needs and args.learner != "deep":
            raise ConfigError(
                f"strategy {name} needs MC-dropout passes, which --learner {args.learner} cannot give: "
                "use --learner deep, or margin, entropy or least_confidence"
            )
    if args.ssl and args.learner != "logreg":
        instead = (
            "already learns from the unlabeled pool" if args.learner == "spreading" else "takes --algorithm"
        )
        raise ConfigError(f"--ssl wraps logreg in self-training; --learner {args.learner} {instead}")
    return names


def load_features(args: argparse.Namespace) -> tuple[Any, Any, Any, Any, int, str]:
    """``(X, y, X_test, y_test, n_classes, description)``: flat float features, standardised and (above
    ``--pca`` features) reduced by PCA, both fitted on the pool's inputs only (no labels, no test rows)."""
    from pathlib import Path

    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from semisup.config import DataConfig
    from semisup.data.dataset import DataError
    from semisup.data.load import load_dataset

    cfg = DataConfig(name=args.data, labels_per_class=None, label_column=args.label_column)
    data = load_dataset(cfg, seed=0)
    missing = int((data.y == -1).sum())
    if missing:
        raise DataError(
            f"{args.data} has {missing:,} unlabeled rows: the simulation answers from known labels, so "
            "every row needs one (drop those rows, or label them with `semisup label`)"
        )
    source = "its own test split"
    if data.X_test is None:
        cfg.test_fraction = args.test_fraction
        data = load_dataset(cfg, seed=0)  # the same seeded, stratified hold-out as `semisup train`
        source = f"{args.test_fraction:g} held out"
    X = data.X.reshape(len(data.X), -1).astype(np.float64)
    Xt = data.X_test.reshape(len(data.X_test), -1).astype(np.float64)
    if np.isnan(X).any() or np.isnan(Xt).any():  # table cells: the pool's column medians
        med = np.nan_to_num(np.nanmedian(np.where(np.isnan(X).all(0), 0.0, X), axis=0))
        X, Xt = np.where(np.isnan(X), med, X), np.where(np.isnan(Xt), med, Xt)
    scaler = StandardScaler().fit(X)
    X, Xt = scaler.transform(X), scaler.transform(Xt)
    note = f"{X.shape[1]} features"
    if args.pca and X.shape[1] > args.pca:
        pca = PCA(n_components=args.pca, random_state=0).fit(X)
        X, Xt = pca.transform(X), pca.transform(Xt)
        note = f"{note} -> PCA {args.pca}"
    if args.budget > len(X):
        raise DataError(f"--budget {args.budget} exceeds the {len(X):,} items of the pool: lower it")
    desc = f"{Path(data.name).name}: pool {len(X):,}, test {len(Xt):,} ({source}), {note}"
    return X, data.y, Xt, data.y_test, len(data.classes), desc


def make_learner(args: argparse.Namespace, n_classes: int) -> Any:
    """``seed -> learner`` for ``--learner``."""
    if args.learner == "logreg":
        from sklearn.linear_model import LogisticRegression

        return lambda seed: LogisticRegression(max_iter=1000)
    if args.learner == "spreading":
        from semisup.classic import LabelSpreading

        return lambda seed: LabelSpreading()
    from semisup.active.learners import DeepRunLearner

    def deep(seed: int) -> DeepRunLearner:
        cfg = {
            "algorithm": args.algorithm,
            "net": {"name": "mlp", "dropout": 0.2},
            "train": {"steps": args.steps},
            "seed": seed,
        }
        return DeepRunLearner(cfg, n_classes, kind="vector")

    deep(0)  # config mistakes (an unknown algorithm) surface before the first round
    return deep


def run(args: argparse.Namespace) -> int:
    """The ``semisup active`` command; user mistakes raise ``ConfigError``/``DataError`` (exit 2)."""
    import textwrap
    import time
    from pathlib import Path

    import numpy as np

    from semisup.active.curves import learning_curves, summary_table, write_curve_csv
    from semisup.plots.active import plot_active_curves

    strategies = check_args(args)
    args.seeds = list(dict.fromkeys(args.seeds))  # a repeated seed would repeat a run exactly
    X, y, Xt, yt, n_classes, desc = load_features(args)
    learner = make_learner(args, n_classes)
    out = Path(args.out or f"runs/active-{Path(args.data).stem if Path(args.data).suffix else args.data}")
    initial = args.batch if args.initial is None else args.initial
    ssl = " + self-training" if args.ssl else ""
    seeds = " ".join(map(str, args.seeds))
    print(f"active learning on {desc}", flush=True)
    print(f"learner {args.learner}{ssl}, batch {args.batch}, budget {args.budget}, seeds {seeds}")
    print(f"round 0: {initial} labels by {args.start} (random: at random)", flush=True)

    def progress(strategy: str, seed: int, rows: list[dict]) -> None:
        last, secs = rows[-1], sum(r["seconds"] for r in rows)
        acc = 100 * last["accuracy"]
        n = last["n_labels"]
        print(f"  {strategy} seed {seed}: {acc:.1f} % at {n} labels ({secs:.1f} s)", flush=True)

    t0 = time.perf_counter()
    rows = learning_curves(
        X, y, Xt, yt, strategies, learner, seeds=args.seeds, batch_size=args.batch, budget=args.budget,
        initial_size=initial, start=args.start, ssl=args.ssl, on_run=progress,
    )  # fmt: skip
    csv_path = write_curve_csv(rows, out / "curve.csv")
    title = f"{Path(args.data).name}: {args.learner}{ssl}, start {args.start}, batch {args.batch}"
    png = plot_active_curves(rows, out / "curve.png", title)
    k = len(set(args.seeds))
    print(f"\ntest accuracy (%), mean±std over {k} seed{'s' * (k > 1)}, at each number of labels")
    print(summary_table(rows))
    mean_acc = {s: float(np.mean([r["accuracy"] for r in rows if r["strategy"] == s])) for s in strategies}
    if "random" in mean_acc and len(mean_acc) > 1:
        gain = {s: 100 * (a - mean_acc["random"]) for s, a in mean_acc.items() if s != "random"}
        text = "mean accuracy over the curve, minus random's: " + ", ".join(
            f"{s} {g:+.1f}" for s, g in gain.items()
        )
        print(textwrap.fill(text, 80, subsequent_indent="  "))
    print(f"wrote {csv_path} and {png} in {time.perf_counter() - t0:.1f} s")
    return 0
