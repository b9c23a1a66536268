"""``semisup label``: serve the labeling app, or export / import its labels.

semisup label DATA --db labels.sqlite [--classes a,b,c] [--host 127.0.0.1] [--port 8765]
              [--token T|auto] [--users NAMES|FILE] [--run RUN_DIR | --retrain] [--text-column COL]
semisup label export --db labels.sqlite --format csv|labelstudio [--out FILE]
semisup label import FILE --db labels.sqlite [--format csv|labelstudio] [--classes a,b,c]
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from pathlib import Path

import numpy as np

__all__ = ["build_app", "main"]


def _classes(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="semisup label",
        description="Serve a web page to label DATA; every label is saved to --db at once. "
        "Also: `semisup label export ...`, `semisup label import ...`.",
    )
    p.add_argument("data", help="built-in name, .npz/.csv file, image folder, or a text CSV (--text-column)")
    p.add_argument("--db", required=True, help="SQLite file of labels (created if missing)")
    p.add_argument("--classes", help="comma-separated class names (default: the data's classes)")
    p.add_argument("--text-column", dest="text_column", help="CSV column holding the texts to label")
    p.add_argument("--label-column", dest="label_column", default="label")
    p.add_argument(
        "--id-column", dest="id_column", help="text CSVs: column of item ids (default: row number)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (another one needs --token)")
    p.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    p.add_argument(
        "--token",
        default=os.environ.get("SEMISUP_LABEL_TOKEN"),
        help="secret every request must carry; 'auto' makes one (default: $SEMISUP_LABEL_TOKEN)",
    )
    p.add_argument(
        "--users",
        metavar="NAMES|FILE",
        help="labelers, comma-separated or a file of one name a line: each gets a URL with their own token, "
        "and their labels carry their name",
    )
    p.add_argument(
        "--user", default=None, help="name recorded with labels that name no labeler (default: your login)"
    )
    m = p.add_mutually_exclusive_group()
    m.add_argument("--run", metavar="RUN_DIR", help="suggestions from a trained run (no retraining)")
    m.add_argument("--retrain", action="store_true", help="retrain a fast model in the background (default)")
    p.add_argument("--retrain-every", dest="every", type=int, default=5, help="new labels per refit")
    p.add_argument("--model", choices=["spreading", "self_training"], default="spreading")
    p.add_argument(
        "--strategy", default="margin", help="queue order: margin, entropy, or a semisup.active one"
    )
    p.add_argument("--seed", type=int, default=0, help="order of the items before the first model")
    return p


def export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="semisup label export", description="write the current labels")
    p.add_argument("--db", required=True)
    p.add_argument("--format", choices=["csv", "labelstudio"], default="csv")
    p.add_argument("--out", default="-", help="file to write (default: standard output)")
    return p


def import_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="semisup label import", description="add labels from a file")
    p.add_argument("file", help="a CSV (item_id,label,...) or Label Studio JSON export")
    p.add_argument("--db", required=True)
    p.add_argument("--format", choices=["csv", "labelstudio"], help="default: from the file's extension")
    p.add_argument("--classes", help="class names, for a label file that does not know them yet")
    p.add_argument("--user", default=None, help="user for records that name none (default: your login)")
    return p


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "user"


def build_app(args: argparse.Namespace):
    """The ``LabelApp`` for parsed serve arguments (items, store, model)."""
    from semisup.active.strategies import get_strategy
    from semisup.app.items import load_items
    from semisup.app.model import Suggester
    from semisup.app.service import LabelApp
    from semisup.app.store import LabelStore

    items = load_items(args.data, _classes(args.classes), args.text_column, args.label_column, args.id_column)
    store = LabelStore(args.db, items.classes, items.ids, data_name=items.name, kind=items.kind)
    app = LabelApp(items, store, user=args.user or _login(), strategy=args.strategy, seed=args.seed)
    fixed = _run_proba(args.run, items) if args.run else None
    app.suggester = Suggester(
        items,
        app.human_labels,
        every=args.every,
        model=args.model,
        retrain=args.run is None,
        fixed_proba=fixed,
        mc_samples=20 if "mc_proba" in get_strategy(args.strategy).needs else 0,  # a committee for BALD
        seed=args.seed,
    )
    return app


def _run_proba(run_dir: str, items) -> np.ndarray:
    """A trained run's class probabilities of every item, columns in the app's class order."""
    from semisup.data.dataset import DataError
    from semisup.predictor import load

    pred = load(run_dir)
    if items.inputs is None:
        raise DataError("--run needs array or table data (the run's model reads inputs, not files or texts)")
    names = [str(c) for c in pred.classes_]
    if sorted(names) != sorted(items.classes):
        raise DataError(f"the run {run_dir} predicts classes {names}, but the data's are {items.classes}")
    p = pred.predict_proba(items.inputs)
    return np.asarray(p)[:, [names.index(c) for c in items.classes]]


def _user_names(spec: str) -> list[str]:
    """``--users``: a file of one name a line (blank lines and ``#`` comments skipped) or ``a,b,c``."""
    from semisup.app.server import AppError

    path = Path(spec)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        names = [n.strip() for n in lines if n.strip() and not n.lstrip().startswith("#")]
    else:
        names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise AppError(
            f"--users {spec!r} names nobody: pass names like alice,bob or a file of one name a line"
        )
    for n in names:
        if len(n) > 64 or not n.isprintable():
            raise AppError(f"--users: {n[:80]!r} is not a name of at most 64 printable characters")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise AppError(f"--users names {', '.join(twice)} twice: each labeler once")
    return names


def serve(args: argparse.Namespace) -> int:
    from semisup.active.strategies import get_strategy
    from semisup.app.server import AppError, check_bind, make_server

    token = secrets.token_urlsafe(16) if args.token == "auto" else args.token
    users = {name: secrets.token_urlsafe(16) for name in _user_names(args.users)} if args.users else None
    check_bind(args.host, token, users)  # before the data is read: fail fast
    if "mc_proba" in get_strategy(args.strategy).needs and args.run:
        raise AppError(
            f"--strategy {args.strategy} needs a committee of models the app refits itself: "
            "drop --run, or use margin or entropy with --run"
        )
    app = build_app(args)
    server = make_server(app, args.host, args.port, token, users)
    app.start()
    n = len(app.items)
    print(f"labeling {app.items.name} ({n} {app.items.kind} items, classes {app.items.classes})")
    print(f"labels are saved in {Path(args.db).resolve()}")
    if users:  # one line per person: the token in each URL says who gives the labels
        for name, url in server.user_urls().items():
            print(f"open {url}   ({name})")
    if token or not users:
        print(f"open {server.url}" + ("   (shared token)" if users else ""))
    print("Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled, except when it came while still starting up
    finally:
        server.server_close()
        app.stop()
        app.store.close()
    print("stopped; every label given is in the file", flush=True)
    return 0


def export(args: argparse.Namespace) -> int:
    from semisup.app.agreement import cohen_kappa, rater_pairs
    from semisup.app.interchange import export_labels
    from semisup.app.store import LabelStore

    if not Path(args.db).is_file():
        raise FileNotFoundError(f"no label file {args.db!r}")
    store = LabelStore(args.db)
    text = export_labels(store, args.format)
    n = len(store.current())
    pairs = rater_pairs(store.user_labels())
    store.close()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {n} labels to {args.out}", file=sys.stderr)
    if pairs:  # on stderr: the export itself stays a plain CSV / JSON
        kappa = cohen_kappa([p[1] for p in pairs], [p[2] for p in pairs])
        shown = "undefined (one class only)" if kappa is None else f"{kappa:.3f}"
        print(
            f"agreement: Cohen's kappa {shown} over {len(pairs)} items labeled by two people", file=sys.stderr
        )
    return 0


def import_(args: argparse.Namespace) -> int:
    from semisup.app.interchange import import_labels
    from semisup.app.store import LabelError, LabelStore

    store = LabelStore(args.db, _classes(args.classes))
    if not store.classes:
        raise LabelError(f"{args.db} does not know its classes yet: pass --classes a,b,c")
    n = import_labels(store, args.file, args.format, user=args.user or _login())
    store.close()
    print(f"imported {n} labels into {args.db}")
    return 0


def main(argv: list[str]) -> int:
    """Entry point for ``semisup label ...`` (``argv`` without ``label``)."""
    if argv[:1] == ["export"]:
        return export(export_parser().parse_args(argv[1:]))
    if argv[:1] == ["import"]:
        return import_(import_parser().parse_args(argv[1:]))
    return serve(serve_parser().parse_args(argv))
