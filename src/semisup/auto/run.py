"""``auto_fit``: search (``semisup.auto.search``), then train the chosen candidate on everything.

A deep choice is an ordinary run folder (``semisup.load``, ``eval``, ``predict`` work as for any run); a
classic choice is saved as ``classic_model.pkl`` beside ``classic.json`` (classes, kind, input shape) and
``semisup.load`` returns a predictor with the same methods. Either way the folder holds ``auto.json``:
every candidate's fold scores, the choice and the reason, the search and final-run times.
"""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from semisup.auto.candidates import fit_classic, proba_full
from semisup.auto.search import SEARCH_BUDGET, AutoReport, search
from semisup.config import ConfigError, RunConfig
from semisup.data.dataset import SSLDataset
from semisup.predictor import Predictor, class_labels

CLASSIC_MODEL = "classic_model.pkl"
CLASSIC_META = "classic.json"


def _base_dict(config: dict[str, Any] | RunConfig) -> dict[str, Any]:
    if isinstance(config, RunConfig):  # its algorithm is ignored; what it left unset stays unset
        d = config.to_dict()
        d.pop("algorithm", None)
        unset = getattr(config, "_unset", {})
        if unset.get("mu"):
            d["data"].pop("mu", None)
        if unset.get("weight_decay"):
            d["optim"].pop("weight_decay", None)
        return d
    d = json.loads(json.dumps(config))
    algo = d.pop("algorithm", None)
    name = algo.get("name") if isinstance(algo, dict) else algo
    if isinstance(algo, dict) and set(algo) - {"name"}:
        raise ConfigError(
            f"--algorithm auto chooses the algorithm and uses each one's paper defaults; drop the algorithm "
            f"settings {sorted(set(algo) - {'name'})}"
        )
    if name not in (None, "auto"):
        raise ConfigError(f"auto_fit chooses the algorithm itself; got algorithm {name!r}")
    return d


def auto_fit(
    config: dict[str, Any] | RunConfig,
    out: str | Path | None = None,
    data: SSLDataset | None = None,
    deep: bool = True,
    classic: bool = True,
    alpha: float = 0.1,
    verbose: bool = True,
    budget: float | None = SEARCH_BUDGET,
) -> Any:
    """Choose by cross-validation on the labels among supervised training, the classic methods and the
    deep SSL algorithms suited to the data kind; train the choice on all the data into ``out``.

    Args:
        config: a config dict (as the CLI builds it; ``data.mu`` unset lets each algorithm use its
            paper ratio) or a ``RunConfig`` (its algorithm is ignored).
        deep, classic: which families to consider.
        budget: the search's time limit in one-run times; None turns the clock-reading governor off
            for an exactly repeatable search (``semisup.auto.search``).
    Returns:
        A ``RunResult``; ``result.summary["auto"]`` holds the choice and the reason.
    """
    from semisup.data.load import load_dataset
    from semisup.engine.defaults import default_steps
    from semisup.engine.trainer import RunResult
    from semisup.run import fit

    base = _base_dict(config)
    probe_cfg = RunConfig.from_dict({**base, "algorithm": {"name": "supervised"}})
    data = (load_dataset(probe_cfg.data, probe_cfg.seed) if data is None else data).validate()
    base.setdefault("data", {})["kind"] = data.kind
    steps = probe_cfg.train.steps or default_steps(data)
    if verbose:
        print(f"auto: searching on {data.name} ({data.kind}, {data.n_labeled} labels) ...", flush=True)
    report = search(base, data, steps, probe_cfg.seed, alpha, deep, classic, verbose, budget)
    if verbose:
        print(f"auto: chose {report.choice}: {report.reason}", flush=True)
    t0 = time.perf_counter()
    if report.choice_deep:
        train = {**base.get("train", {}), "steps": steps}  # the user's train settings, the searched budget
        cfg = RunConfig.from_dict({**base, "algorithm": {"name": report.choice}, "train": train})
        result = fit(cfg, out, data=data)
    else:
        result = RunResult(Path(out) if out is not None else None, {})
        result.summary = _fit_classic_run(report, base, data, probe_cfg.seed, result.run_dir)
    report.final_seconds = round(time.perf_counter() - t0, 2)
    result.summary["auto"] = {
        "choice": report.choice,
        "reason": report.reason,
        "search_seconds": report.search_seconds,
        "final_seconds": report.final_seconds,
    }
    result.summary["algorithm"] = f"auto -> {report.choice}"
    if result.run_dir is not None:
        (result.run_dir / "auto.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        (result.run_dir / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    return result


def _fit_classic_run(
    report: AutoReport, base: dict[str, Any], data: SSLDataset, seed: int, out: Path | None
) -> dict[str, Any]:
    ssl = next(c["ssl"] for c in report.candidates if c["name"] == report.choice)
    t0 = time.perf_counter()
    est = fit_classic(report.choice, data.X, data.y, ssl, seed, data.kind)
    seconds = time.perf_counter() - t0
    acc = None
    if data.X_test is not None:
        acc = float((proba_full(est, data.X_test, data.num_classes).argmax(1) == data.y_test).mean())
    meta = {
        "classes": list(data.classes),
        "input_shape": list(data.input_shape),
        "kind": data.kind,
        "dataset": data.name,
        "method": report.choice,
        "columns": data.columns,
        "categories": data.categories,
    }
    summary = {
        "test_accuracy": acc,
        "algorithm": report.choice,
        "dataset": data.name,
        "n_labeled": data.n_labeled,
        "n_unlabeled": data.n_unlabeled,
        "seed": seed,
        "train_seconds": round(seconds, 3),
        "net": None,
        **meta,
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / CLASSIC_MODEL, "wb") as f:
            pickle.dump(est, f)
        (out / CLASSIC_META).write_text(json.dumps(meta, indent=2) + "\n")
        (out / "config.yaml").write_text(yaml.safe_dump({"algorithm": "auto", **base}, sort_keys=False))
    return summary


class ClassicPredictor(Predictor):
    """A classic model chosen by ``auto``, with ``Predictor``'s methods and input conversion (uint8 images,
    table columns by name, labels of the user's type).

    Loads a pickle: open only run folders you trust (as with any pickled scikit-learn model).
    """

    def __init__(self, estimator: Any, meta: dict[str, Any], config: dict[str, Any]) -> None:
        self.estimator, self.meta, self.config = estimator, meta, config
        self.classes_ = class_labels(list(meta["classes"]))
        self.input_shape = tuple(meta["input_shape"])
        self.kind = meta["kind"]
        self.columns, self.categories = meta.get("columns"), meta.get("categories")
        self.label_column = (config.get("data") or {}).get("label_column", "label")
        self.text_column = (config.get("data") or {}).get("text_column")

    def predict_proba(self, X: Any, batch_size: int = 1024) -> np.ndarray:
        """(N, C) class probabilities for raw inputs (N, *input_shape)."""
        return proba_full(self.estimator, self.inputs(X), len(self.classes_))


def load_classic(run_dir: str | Path) -> ClassicPredictor:
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / CLASSIC_META).read_text())
    with open(run_dir / CLASSIC_MODEL, "rb") as f:
        est = pickle.load(f)  # noqa: S301  (the user's own run folder)
    config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    return ClassicPredictor(est, meta, config)
