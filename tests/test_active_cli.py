"""``semisup active``: the simulated loop from the command line, its CSV, plot and table, and the one-line
refusals of user mistakes before any work."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from semisup.active.curves import learning_curves, read_curve_csv
from semisup.cli import main


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    """A fully labeled .npz of 160 points in 3 classes, without a test split."""
    X, y = make_blobs(160, centers=3, cluster_std=2.0, random_state=1)  # logistic regression: 93 %
    path = tmp_path_factory.mktemp("data") / "blobs.npz"
    np.savez(path, X=X.astype(np.float32), y=y)
    return path


def test_two_strategies_two_seeds_end_to_end(blobs, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [str(blobs), "--strategy", "margin", "--budget", "22", "--batch", "5", "--initial", "7"]
    assert main(["active", *argv, "--seeds", "0", "1", "--out", str(out)]) == 0
    rows = read_curve_csv(out / "curve.csv")
    with (out / "curve.csv").open() as f:
        assert next(csv.reader(f)) == ["strategy", "seed", "round", "n_labels", "accuracy", "seconds"]
    assert len(rows) == 4 * 2 * 2  # rounds x strategies (margin + the random baseline) x seeds
    for strategy in ("margin", "random"):
        for seed in (0, 1):
            mine = [r for r in rows if (r["strategy"], r["seed"]) == (strategy, seed)]
            assert [r["round"] for r in mine] == [0, 1, 2, 3]
            assert [r["n_labels"] for r in mine] == [7, 12, 17, 22]  # +batch, the budget exactly
    assert all(0 <= r["accuracy"] <= 1 and r["seconds"] >= 0 for r in rows)
    assert np.mean([r["accuracy"] for r in rows if r["n_labels"] == 22]) > 0.8  # three blobs, 22 labels
    png = (out / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    text = capsys.readouterr().out
    assert "pool 120, test 40 (0.25 held out)" in text  # no test split in the file: a stratified quarter
    lines = text.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("labels")) :]
    assert table[0].split() == ["labels", "7", "12", "17", "22", "s/run"]
    assert [line.split()[0] for line in table[1:3]] == ["margin", "random"]
    assert max(len(line) for line in lines if not line.startswith("wrote")) <= 80  # paths aside


def test_builtin_with_its_test_split_spreading_and_no_baseline(tmp_path, capsys):
    out = tmp_path / "moons"
    argv = ["moons", "--strategy", "coreset", "--budget", "12", "--batch", "4", "--compare", "none"]
    assert main(["active", *argv, "--learner", "spreading", "--seeds", "3", "--out", str(out)]) == 0
    rows = read_curve_csv(out / "curve.csv")
    assert [(r["strategy"], r["seed"], r["n_labels"]) for r in rows] == [
        ("coreset", 3, n) for n in (4, 8, 12)
    ]
    assert "pool 1,000, test 1,000 (its own test split)" in capsys.readouterr().out


def test_learning_curves_are_seeded():
    X, y = make_blobs(120, centers=3, cluster_std=3.0, random_state=0)  # overlapping: seeds matter
    kw = dict(seeds=[0, 1], batch_size=4, budget=12)

    def run() -> list[tuple]:
        rows = learning_curves(
            X[:90], y[:90], X[90:], y[90:], ["entropy"], lambda s: LogisticRegression(), **kw
        )
        return [(r["seed"], r["n_labels"], r["accuracy"]) for r in rows]

    first = run()
    assert first == run() and len(first) == 6
    assert [a for s, _, a in first if s == 0] != [a for s, _, a in first if s == 1]  # seeds differ


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--strategy", "margn"], "unknown query strategy 'margn'. Did you mean 'margin'"),
        (["--compare", "random,coresett"], "Did you mean 'coreset'?"),
        (["--budget", "5"], "--budget 5 is below the 10 initial labels: raise --budget"),
        (["--budget", "20", "--initial", "25"], "--budget 20 is below the 25 initial labels"),
        (["--batch", "0"], "--batch must be >= 1, got 0"),
        (["--strategy", "bald"], "strategy bald needs MC-dropout passes, which --learner logreg cannot give"),
        (["--start", "margin"], "--start margin needs a model, which round 0 lacks"),
        (["--learner", "spreading", "--ssl"], "--learner spreading already learns from the unlabeled pool"),
        (["--budget", "500"], "--budget 500 exceeds the 120 items of the pool: lower it"),
    ],
)
def test_user_mistakes_exit_2_with_one_line_before_any_work(blobs, tmp_path, capsys, flags, message):
    out = tmp_path / "never"
    assert main(["active", str(blobs), *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    assert not out.exists()


def test_unlabeled_rows_are_refused(tmp_path, capsys):
    X, y = make_blobs(60, centers=2, random_state=0)
    y[[3, 8]] = -1
    path = tmp_path / "partial.npz"
    np.savez(path, X=X, y=y)
    assert main(["active", str(path), "--budget", "20"]) == 2
    err = capsys.readouterr().err
    assert "has 2 unlabeled rows: the simulation answers from known labels" in err and err.count("\n") == 1


@pytest.mark.slow  # a semisup run per round: ~5 s alone, 15 s+ on a busy machine
def test_bald_with_the_deep_learner(blobs, tmp_path):
    out = tmp_path / "deep"
    argv = ["--strategy", "bald", "--learner", "deep", "--steps", "20", "--budget", "10", "--batch", "5"]
    assert main(["active", str(blobs), *argv, "--compare", "none", "--seeds", "0", "--out", str(out)]) == 0
    rows = read_curve_csv(out / "curve.csv")
    assert [(r["strategy"], r["n_labels"]) for r in rows] == [("bald", 5), ("bald", 10)]
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
