"""Predictions a user can trust on their own files: one per trap found by trying them as a new user.

Columns matched by name, uint8 images scaled the same in Python and the CLI, labels of the user's type,
CSV labels 1..K, categorical and missing cells, signals from npz and CSV rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from semisup.cli import main
from semisup.config import RunConfig
from semisup.data.dataset import DataError
from semisup.data.inputs import read_inputs, to_model_inputs
from semisup.predictor import class_labels, load
from semisup.run import fit


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny nets: one thread is fastest, and it does not stall when other processes share the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_cfg(data: str, net: dict, steps: int = 60) -> RunConfig:
    return RunConfig.from_dict(
        {
            "algorithm": {"name": "fixmatch"},
            "net": net,
            "data": {"name": data, "batch_size": 16, "mu": 2},
            "train": {"steps": steps, "eval_every": steps, "progress": False, "check_ssl": False},
        }
    )


def write_table(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def cli_predict(run: Path, inputs: Path, out: Path) -> list[dict[str, str]]:
    assert main(["predict", str(run), str(inputs), "--out", str(out)]) == 0
    with out.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """A table with a numeric column with blanks, a categorical one with NA cells, labels 1..3."""
    tmp = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    n = 240
    color = rng.choice(["blue", "green", "red"], n)
    a, b = rng.normal(size=n), rng.normal(5, 3, size=n)
    y = np.where(color == "red", 3, np.where(a > 0, 1, 2))
    a_cells = np.where(rng.random(n) < 0.1, "", a.round(4).astype(str))
    c_cells = np.where(rng.random(n) < 0.05, "NA", color)
    labels = np.where(np.arange(n) % 6 == 0, y.astype(str), "")
    rows = [[ai, ci, bi, li] for ai, ci, bi, li in zip(a_cells, c_cells, b.round(4), labels, strict=True)]
    train = write_table(tmp / "train.csv", ["a", "color", "b", "label"], rows)
    run = tmp / "run"
    fit(run_cfg(str(train), {"name": "table_mlp", "hidden": [32]}, steps=80), run)
    return tmp, run, rows, y


def test_csv_labels_1_to_k_give_k_classes_and_predictions_in_1_to_k(table_run):
    tmp, run, rows, y = table_run
    pred = load(run)
    assert pred.classes_.tolist() == [1, 2, 3] and pred.classes_.dtype.kind == "i"
    got = cli_predict(run, tmp / "train.csv", tmp / "p.csv")
    assert {int(r["prediction"]) for r in got} <= {1, 2, 3} and list(got[0])[3:] == ["p_1", "p_2", "p_3"]
    assert np.mean([int(r["prediction"]) for r in got] == y) > 0.6  # categorical + missing cells learned


def test_reordered_columns_give_the_same_predictions(table_run):
    tmp, run, rows, _ = table_run
    shuffled = write_table(
        tmp / "shuffled.csv", ["b", "label", "color", "a"], [[r[2], r[3], r[1], r[0]] for r in rows]
    )
    same = cli_predict(run, tmp / "train.csv", tmp / "p1.csv")
    other = cli_predict(run, shuffled, tmp / "p2.csv")
    assert [r["prediction"] for r in same] == [r["prediction"] for r in other]
    assert [r["p_1"] for r in same] == [r["p_1"] for r in other]


def test_missing_column_is_refused_by_name(table_run, capsys):
    tmp, run, rows, _ = table_run
    path = write_table(tmp / "no_b.csv", ["a", "color"], [r[:2] for r in rows])
    with pytest.raises(DataError, match=r"lack the columns \['b'\]"):
        load(run).read(path)
    assert main(["predict", str(run), str(path), "--out", str(tmp / "x.csv")]) != 0
    assert "['b']" in capsys.readouterr().err


def test_extra_columns_and_unseen_categories_warn(table_run, capsys):
    tmp, run, rows, _ = table_run
    extra = [[*r[:3], "9", "x"] for r in rows[:5]]
    extra[0][1] = "purple"
    path = write_table(tmp / "extra.csv", ["a", "color", "b", "weight", "note"], extra)
    with pytest.warns(UserWarning) as record:
        X, _ = load(run).read(path)
    text = " ".join(str(w.message) for w in record)
    assert "ignoring columns ['weight', 'note']" in text and "['purple'] not seen in training" in text
    assert np.isnan(X[0, 1]) and X.shape == (5, 3)
    cli_predict(run, path, tmp / "p3.csv")
    err = capsys.readouterr().err
    assert "warning:" in err and "weight" in err


def test_dataframe_is_matched_by_name_like_the_csv(table_run):
    pd = pytest.importorskip("pandas")
    tmp, run, rows, _ = table_run
    frame = pd.read_csv(tmp / "train.csv")[["b", "color", "a"]]  # blanks/NA read as NaN by pandas
    pred = load(run)
    X, _ = pred.read(tmp / "train.csv")
    np.testing.assert_array_equal(pred.predict_proba(frame), pred.predict_proba(X))


# ---- images: one conversion for Python and the CLI ----------------------------------------------
@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    y = np.arange(96) % 2
    X = rng.integers(0, 120, size=(96, 8, 8)).astype(np.uint8)
    X[y == 1, :4] += 120  # bright top half: class 1
    y_part = np.where(np.arange(96) < 16, y, -1)
    np.savez(tmp / "train.npz", X=X, y=y_part, X_test=X[:40], y_test=y[:40])
    run = tmp / "run"
    fit(run_cfg(str(tmp / "train.npz"), {"name": "cnn", "width": 8}, steps=40), run)
    return tmp, run, X, y


def test_uint8_images_predict_the_same_through_python_and_the_cli(image_run):
    tmp, run, X, _ = image_run
    np.savez(tmp / "new.npz", X=X[:20])
    got = cli_predict(run, tmp / "new.npz", tmp / "p.csv")
    proba = load(run).predict_proba(X[:20])  # raw uint8 (N, H, W), as a user holds them
    np.testing.assert_allclose([float(r["p_1"]) for r in got], proba[:, 1], atol=2e-6)
    np.testing.assert_array_equal(proba, load(run).predict_proba(X[:20, None] / 255.0))
    with pytest.raises(DataError, match=r"must be in \[0, 1\].*uint8"):
        load(run).predict(X[:20].astype(np.float32))  # 0-255 floats would be silently wrong


def test_integer_labels_come_back_as_integers_and_match_the_evaluated_accuracy(image_run):
    _, run, X, y = image_run
    pred = load(run)
    summary = json.loads((run / "summary.json").read_text())
    got = pred.predict(X[:40])
    assert got.dtype.kind == "i" and (got == y[:40]).mean() == pytest.approx(
        summary["test_accuracy"], abs=1e-9
    )


@pytest.mark.parametrize(
    "names, expected",
    [
        (["0", "1", "10"], [0, 1, 10]),
        (["-2", "3"], [-2, 3]),
        (["a", "1"], ["a", "1"]),
        (["01", "2"], ["01", "2"]),
    ],
)
def test_class_label_rule_works_for_old_checkpoints(names, expected):
    assert class_labels(names).tolist() == expected


# ---- signals and images from files ---------------------------------------------------------------
def test_signals_from_npz_and_csv_rows(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert to_model_inputs(X, (1, 4), "signal").shape == (3, 1, 4)
    assert to_model_inputs(X[:, None], (1, 4), "signal").shape == (3, 1, 4)
    two = to_model_inputs(np.arange(24).reshape(3, 8), (2, 4), "signal")
    assert two.shape == (3, 2, 4) and two[0, 1].tolist() == [4, 5, 6, 7]
    np.savez(tmp_path / "s.npz", X=X)
    assert read_inputs(tmp_path / "s.npz", (1, 4), "signal")[0].shape == (3, 1, 4)
    write_table(tmp_path / "s.csv", ["t0", "t1", "t2", "t3"], X.tolist())
    got, _ = read_inputs(tmp_path / "s.csv", (1, 4), "signal", columns=["t0", "t1", "t2", "t3"])
    np.testing.assert_array_equal(got[:, 0], X)
    with pytest.raises(DataError, match=r"shape \(5,\) per example but the model was trained on \(1, 4\)"):
        to_model_inputs(np.zeros((2, 5)), (1, 4), "signal")
    with pytest.raises(DataError, match="NaN or inf"):
        to_model_inputs(np.full((2, 4), np.nan), (1, 4), "signal")


def test_images_from_npz_hw_uint8_and_channels_last(tmp_path):
    X = np.full((2, 5, 5), 255, np.uint8)
    np.savez(tmp_path / "i.npz", X=X)
    got, _ = read_inputs(tmp_path / "i.npz", (1, 5, 5), "image")
    assert got.shape == (2, 1, 5, 5) and got.dtype == np.float32 and got.max() == 1.0
    rgb = to_model_inputs(np.zeros((2, 5, 5, 3), np.uint8), (3, 5, 5), "image")
    assert rgb.shape == (2, 3, 5, 5)
    assert np.array_equal(to_model_inputs(got, (1, 5, 5), "image"), got)  # idempotent
