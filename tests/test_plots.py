"""Run plots, benchmark curves and the two-moons demo figure: files written, numbers drawn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import semisup
from semisup.benchmark import CEILING
from semisup.plots.benchmark import benchmark_figure, plot_benchmark
from semisup.plots.run import confusion, plot_run, read_metrics


def test_confusion_counts_match_a_loop():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    naive = np.zeros((4, 4), int)
    for a, b in zip(y, p, strict=True):
        naive[a, b] += 1
    assert np.array_equal(confusion(y, p, 4), naive) and confusion(y, p, 4).sum() == 200


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "run"
    cfg = semisup.RunConfig.from_dict(
        {
            "algorithm": "fixmatch",
            "net": {"name": "mlp", "hidden": [16]},
            "data": {"name": "moons", "labels_per_class": 4, "batch_size": 8, "mu": 2},
            "train": {"steps": 20, "eval_every": 10, "log_every": 5, "progress": False, "plots": True},
        }
    )
    semisup.fit(cfg, out)
    return out


def test_plot_run_writes_five_panels_for_2d_data(moons_run):
    path = moons_run / "plots.png"
    assert path.exists()  # train.plots: true drew it at the end of training
    w, h = Image.open(path).size
    assert (w, h) == (5 * 4 * 80, int(3.6 * 80))  # loss, mask/pseudo-acc, accuracy, confusion, boundary
    m = read_metrics(moons_run)
    summary = json.loads((moons_run / "summary.json").read_text())
    assert m["val/acc"][0].tolist() == [10.0, 20.0]
    assert m["val/acc"][1][-1] == pytest.approx(summary["test_accuracy"], abs=1e-6)
    assert m["train/mask_ratio"][0].tolist() == [5.0, 10.0, 15.0, 20.0]
    again = plot_run(moons_run, out=moons_run / "again.png")
    assert Image.open(again).size == (w, h)


def test_cli_plot(moons_run, capsys):
    from semisup.cli import main

    (moons_run / "plots.png").unlink()
    assert main(["plot", str(moons_run)]) == 0
    assert "plots.png" in capsys.readouterr().out and (moons_run / "plots.png").exists()
    assert main(["plot", str(moons_run.parent / "missing")]) == 2


def test_benchmark_figure_draws_means_and_ceiling(tmp_path):
    rows = [
        {"data": "d", "labels_per_class": lpc, "method": m, "seed": s, "test_accuracy": acc}
        for lpc, m, s, acc in [
            (2, "supervised", 0, 0.5), (2, "supervised", 1, 0.7), (4, "supervised", 0, 0.8),
            (4, "supervised", 1, 0.8), (2, "fixmatch", 0, 0.9), (4, "fixmatch", 0, 0.95),
        ]
    ]  # fmt: skip
    rows.append({"data": "d", "labels_per_class": "all", "method": CEILING, "seed": 0, "test_accuracy": 0.99})
    fig = benchmark_figure(rows)
    sup, fm, ceil = fig.axes[0].lines
    assert sup.get_xdata().tolist() == [2, 4] and np.allclose(sup.get_ydata(), [60.0, 80.0])
    assert np.allclose(fm.get_ydata(), [90.0, 95.0]) and np.allclose(ceil.get_ydata(), [99.0, 99.0])
    assert plot_benchmark(rows, tmp_path / "p.png").exists()
