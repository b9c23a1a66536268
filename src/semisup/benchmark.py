"""A benchmark grid: data sets × algorithms × label budgets × seeds, same net and step budget for every
algorithm, with the supervised baseline and the fully supervised ceiling in the same run.

Each cell is a normal run folder (``OUT/DATA/lpcK/ALGORITHM-seedN``); finished cells are read back, an
interrupted cell resumes from its checkpoint, so rerunning a grid only does what is missing. Writes
``OUT/results.csv``, ``OUT/results.md`` (mean ± std, time per run) and ``OUT/accuracy_vs_labels.png``.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semisup.config import RunConfig, apply_overrides

CEILING = "supervised (all labels)"


@dataclass
class Grid:
    """What to run. ``overrides`` apply to every cell; ``algorithm_overrides`` to one algorithm."""

    datasets: list[str]
    algorithms: list[str]
    labels_per_class: list[int]
    seeds: list[int]
    steps: int
    ceiling: bool = True
    overrides: list[str] = field(default_factory=list)
    algorithm_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def cells(self) -> list[tuple[str, int | None, str, int]]:
        """(data, labels per class or None for the ceiling, algorithm, seed), in run order."""
        out: list[tuple[str, int | None, str, int]] = []
        for data in self.datasets:
            for lpc in self.labels_per_class:
                out += [(data, lpc, a, s) for a in self.algorithms for s in self.seeds]
            if self.ceiling:
                out += [(data, None, "supervised", s) for s in self.seeds]
        return out

    def config(self, data: str, lpc: int | None, algorithm: str, seed: int) -> RunConfig:
        d = apply_overrides({}, self.overrides)
        d.setdefault("data", {}).update({"name": data, "labels_per_class": lpc})
        d["algorithm"] = {"name": algorithm, **self.algorithm_overrides.get(algorithm, {})}
        train = d.setdefault("train", {})
        train.update({"steps": self.steps, "progress": False})
        train.setdefault("eval_every", max(1, self.steps // 5))
        train.setdefault("checkpoint_every", max(1, self.steps // 5))
        d["seed"] = seed
        return RunConfig.from_dict(d)


class StaleCellError(ValueError):
    """A finished cell was run with another config than the grid asks for now."""


def check_same_config(cfg: RunConfig, run: Path) -> None:
    """Refuse to reuse a finished cell whose saved config differs from ``cfg`` (progress bar aside).

    Both sides are resolved through ``RunConfig``, so keys added to the config since the cell ran
    compare at their defaults.
    """
    saved = RunConfig.from_yaml(run / "config.yaml").to_dict()
    wanted = cfg.to_dict()
    for d in (saved, wanted):
        d["train"].pop("progress", None)
    # Values the run resolves from the data (net: auto -> cnn, data.kind: None -> image) match whatever
    # the run resolved them to: a rerun of the same grid is the same grid.
    if wanted["net"].get("name") == "auto":
        saved.pop("net", None), wanted.pop("net")
    if wanted["data"].get("kind") is None:
        saved["data"].pop("kind", None), wanted["data"].pop("kind")
    diff = sorted(
        f"{section}.{k}: ran {saved[section].get(k)!r}, grid asks {v!r}"
        for section, keys in wanted.items()
        if isinstance(keys, dict)
        for k, v in keys.items()
        if saved.get(section, {}).get(k) != v
    )
    if saved["seed"] != wanted["seed"]:
        diff.append(f"seed: ran {saved['seed']}, grid asks {wanted['seed']}")
    if diff:
        raise StaleCellError(
            f"{run} was run with another config ({'; '.join(diff)}). Delete that folder to rerun the cell, "
            "or write the grid to a new --out"
        )


def run_grid(grid: Grid, out: str | Path, verbose: bool = True) -> list[dict[str, Any]]:
    """Run (or read back) every cell; write ``OUT/results.csv``, ``OUT/results.md`` and the
    accuracy-vs-labels plot ``OUT/accuracy_vs_labels.png``; return the rows."""
    from semisup.run import fit

    out = Path(out)
    rows = []
    for data, lpc, algorithm, seed in grid.cells():
        run = out / data / ("all" if lpc is None else f"lpc{lpc}") / f"{algorithm}-seed{seed}"
        cfg = grid.config(data, lpc, algorithm, seed)
        if (run / "summary.json").exists():
            check_same_config(cfg, run)
            summary = json.loads((run / "summary.json").read_text())
        else:
            summary = fit(cfg, run, resume=True).summary
        rows.append(
            {
                "data": data,
                "labels_per_class": "all" if lpc is None else lpc,
                "method": CEILING if lpc is None else algorithm,
                "seed": seed,
                "n_labeled": summary["n_labeled"],
                "test_accuracy": summary["test_accuracy"],
                "train_seconds": summary["train_seconds"],
            }
        )
        if verbose:
            r = rows[-1]
            print(
                f"{data} lpc={r['labels_per_class']} {r['method']} seed {seed}: "
                f"{100 * r['test_accuracy']:.2f}% in {r['train_seconds']:.0f}s",
                flush=True,
            )
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "results.md").write_text(markdown_table(rows) + "\n")
    from semisup.plots.benchmark import plot_benchmark

    plot_benchmark(rows, out / "accuracy_vs_labels.png")
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per (data, labels, method): mean ± std test accuracy over seeds, mean time per run."""
    lines = [
        "| data | labels/class | method | labeled | test accuracy % (mean ± std) | seeds | s/run |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = dict.fromkeys((r["data"], r["labels_per_class"], r["method"]) for r in rows)
    for data, lpc, method in keys:
        rs = [r for r in rows if (r["data"], r["labels_per_class"], r["method"]) == (data, lpc, method)]
        acc = [100 * r["test_accuracy"] for r in rs]
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        t = statistics.mean(r["train_seconds"] for r in rs)
        lines.append(
            f"| {data} | {lpc} | {method} | {rs[0]['n_labeled']} | {statistics.mean(acc):.2f} ± {sd:.2f} "
            f"| {len(rs)} | {t:.0f} |"
        )
    return "\n".join(lines)
