"""An accuracy for users' files: data.test (a labeled file), data.test_fraction (held-out labels),
`semisup eval RUN --data FILE` on any labeled file, and the train summary's hint without a test set."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from semisup.cli import main
from semisup.config import DataConfig
from semisup.data.dataset import DataError
from semisup.data.load import load_dataset, read_labeled

CENTERS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])


def blob_arrays(n_per_class=20, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    X = (CENTERS[y] + rng.normal(size=(len(y), 2))).astype(np.float32)
    return X, y


def write_csv(path, X, labels, header=("x0", "x1", "label"), order=(0, 1, 2)):
    rows = [[f"{a:.5f}", f"{b:.5f}", lab] for (a, b), lab in zip(X, labels, strict=True)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([header[k] for k in order])
        w.writerows([[r[k] for k in order] for r in rows])
    return str(path)


# ---- data.test_fraction ------------------------------------------------------------------------------
def test_fraction_holds_out_a_stratified_seeded_share_of_the_labels(tmp_path):
    X, y = blob_arrays()  # 20 per class, all labeled
    np.savez(tmp_path / "full.npz", X=X, y=y)
    cfg = DataConfig(name=str(tmp_path / "full.npz"), labels_per_class=4, test_fraction=0.25)
    d = load_dataset(cfg, seed=0)
    assert np.bincount(d.y_test).tolist() == [5, 5, 5]  # 25 % of each class
    assert len(d.X) == 45 and d.n_labeled == 12  # the 4 labels per class come from the other 45
    train_rows = {tuple(r) for r in d.X.tolist()}
    assert not train_rows & {tuple(r) for r in d.X_test.tolist()}  # held out: never trained on
    assert (d.y_true >= 0).sum() == 45  # the hidden labels of the pool stay known (pseudo_acc)
    again, other = load_dataset(cfg, seed=0), load_dataset(cfg, seed=1)
    assert np.array_equal(again.X_test, d.X_test) and not np.array_equal(other.X_test, d.X_test)
    # split_seed wins over the run's seed, as for the labels
    pinned = DataConfig(name=cfg.name, labels_per_class=4, test_fraction=0.25, split_seed=7)
    assert np.array_equal(load_dataset(pinned, 0).X_test, load_dataset(pinned, 1).X_test)


def test_fraction_of_a_partly_labeled_file_uses_only_labeled_examples(tmp_path):
    X, y = blob_arrays()
    y = y.copy()
    y[np.r_[10:20, 30:40, 50:60]] = -1  # 10 labeled per class, 30 unlabeled
    np.savez(tmp_path / "part.npz", X=X, y=y)
    d = load_dataset(DataConfig(name=str(tmp_path / "part.npz"), labels_per_class=None, test_fraction=0.2), 0)
    assert np.bincount(d.y_test).tolist() == [2, 2, 2] and d.n_labeled == 24 and d.n_unlabeled == 30


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1])
def test_fraction_outside_0_1_is_refused(tmp_path, bad):
    X, y = blob_arrays()
    np.savez(tmp_path / "full.npz", X=X, y=y)
    with pytest.raises(DataError, match=r"test_fraction must be in \(0, 1\)"):
        load_dataset(DataConfig(name=str(tmp_path / "full.npz"), labels_per_class=None, test_fraction=bad), 0)


def test_fraction_that_would_empty_a_class_is_refused(tmp_path):
    X, y = blob_arrays()
    y = y.copy()
    y[21:40] = -1  # class 1 has a single labeled example
    np.savez(tmp_path / "rare.npz", X=X, y=y)
    cfg = DataConfig(name=str(tmp_path / "rare.npz"), labels_per_class=None, test_fraction=0.5)
    with pytest.raises(DataError, match="hold out all 1 labeled examples of class '1', leaving none"):
        load_dataset(cfg, 0)
    cfg.test_fraction = 0.2  # round(0.2) = 0 of that class: kept for training, absent from the test
    assert np.bincount(load_dataset(cfg, 0).y_test, minlength=3).tolist() == [4, 0, 4]


# ---- data.test ---------------------------------------------------------------------------------------
def test_a_test_csv_maps_columns_and_classes_by_name(tmp_path):
    names = np.array(["ant", "bee", "cat"])
    X, y = blob_arrays()
    labels = np.where(np.arange(60) % 5 == 0, names[y], "")  # 4 labeled per class
    train = write_csv(tmp_path / "train.csv", X, labels)
    Xt, yt = blob_arrays(n_per_class=6, seed=1)
    keep = yt > 0  # only "bee" and "cat" in the test file, columns in another order
    test = write_csv(tmp_path / "test.csv", Xt[keep], names[yt[keep]], order=(2, 1, 0))
    d = load_dataset(DataConfig(name=train, labels_per_class=None, test=test), 0)
    assert d.classes == ["ant", "bee", "cat"] and d.y_test.tolist() == [1] * 6 + [2] * 6
    np.testing.assert_allclose(d.X_test, Xt[keep], atol=1e-4)  # x0, x1 back in training order
    bad = write_csv(tmp_path / "bad.csv", Xt[:3], ["ant", "dog", "eel"])
    with pytest.raises(DataError, match=r"classes \['dog', 'eel'\] are not among the training classes"):
        load_dataset(DataConfig(name=train, labels_per_class=None, test=bad), 0)


def test_data_test_replaces_a_built_in_test_split_with_a_warning_and_excludes_test_fraction(tmp_path):
    X, y = blob_arrays()
    np.savez(tmp_path / "t.npz", X=X, y=y % 2, classes=["upper", "lower"])  # ids named as in training
    with pytest.warns(UserWarning, match=r"'moons' has its own test split \(1,000 examples\); data.test="):
        d = load_dataset(DataConfig(name="moons", labels_per_class=4, test=str(tmp_path / "t.npz")), 0)
    assert len(d.X_test) == 60 and d.classes == ["upper", "lower"] and d.y_test.tolist() == (y % 2).tolist()
    np.savez(tmp_path / "ids.npz", X=X, y=y % 2)  # integer ids without names: "0"/"1" are no moons class
    with pytest.raises(DataError, match=r"classes \['0', '1'\] are not among the training classes"):
        read_labeled(str(tmp_path / "ids.npz"), ["upper", "lower"], "vector", (2,))
    both = DataConfig(name="moons", test=str(tmp_path / "t.npz"), test_fraction=0.2)
    with pytest.raises(DataError, match="not both"):
        load_dataset(both, 0)


def test_read_labeled_scores_the_test_split_else_every_labeled_row(tmp_path):
    X, y = blob_arrays()
    y_part = np.where(np.arange(60) % 2 == 0, y, -1)
    np.savez(tmp_path / "part.npz", X=X, y=y_part)
    Xr, yr, source = read_labeled(str(tmp_path / "part.npz"), ["0", "1", "2"], "vector", (2,))
    assert source == "all 30 labeled rows (30 unlabeled skipped)" and np.array_equal(yr, y[::2])
    np.savez(tmp_path / "split.npz", X=X, y=y_part, X_test=X[:7], y_test=y[:7])
    _, yr, source = read_labeled(str(tmp_path / "split.npz"), ["0", "1", "2"], "vector", (2,))
    assert source == "its test split (7 rows)" and yr.tolist() == y[:7].tolist()
    with pytest.raises(DataError, match=r"shape \(2,\) per example but the training data has \(3,\)"):
        read_labeled(str(tmp_path / "part.npz"), ["0", "1", "2"], "vector", (3,))


# ---- the CLI: --test, eval --data, the summary hint -------------------------------------------------
def train(tmp_path, data, out, *extra):
    argv = ["train", "--data", data, "--algorithm", "fixmatch", "--net", "mlp", "--steps", "6"]
    argv += ["--out", str(tmp_path / out), "--no-progress", "--seed", "0"]
    argv += ["--set", "data.batch_size=8", "--set", "train.eval_every=6", *extra]
    return main(argv)


def test_cli_test_flag_eval_of_any_labeled_file_and_the_hint(tmp_path, capsys):
    X, y = blob_arrays()
    y_part = np.where(np.arange(60) % 6 == 0, y, -1)  # a user's file: 10 labels, no test split
    np.savez(tmp_path / "user.npz", X=X, y=y_part)
    Xt, yt = blob_arrays(n_per_class=10, seed=3)
    labels = np.array(["0", "1", "2"])[yt]
    labeled_csv = write_csv(tmp_path / "labeled.csv", Xt, labels)

    assert train(tmp_path, str(tmp_path / "user.npz"), "plain") == 0
    out = capsys.readouterr().out
    assert "test accuracy n/a (no test split)" in out
    assert "--test FILE" in out and "--set data.test_fraction=0.2" in out
    assert f"semisup check --data {tmp_path / 'user.npz'}" in out
    with open(tmp_path / "plain" / "metrics.csv", newline="") as f:
        assert "train/pseudo_acc" not in next(csv.reader(f))  # nothing known about the -1 labels

    assert main(["eval", str(tmp_path / "plain")]) == 2
    assert "--data FILE" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "plain"), "--data", labeled_csv]) == 0  # a fully labeled CSV
    ev = json.loads(capsys.readouterr().out)
    from semisup.predictor import load

    pred = load(tmp_path / "plain").predict_ids(Xt)
    recall = [(pred[yt == c] == c).mean() for c in range(3)]
    assert ev["n_test"] == 30 and ev["scored"].endswith("all 30 labeled rows")
    assert ev["test_accuracy"] == pytest.approx((pred == yt).mean())
    assert ev["per_class_accuracy"] == pytest.approx({"0": recall[0], "1": recall[1], "2": recall[2]})
    assert ev["balanced_accuracy"] == pytest.approx(np.mean(recall))
    assert ev["per_class_n"] == {"0": 10, "1": 10, "2": 10}

    # --test FILE: scored at each evaluation, and `eval RUN` finds it again in the run's config
    assert train(tmp_path, str(tmp_path / "user.npz"), "with_test", "--test", labeled_csv) == 0
    assert "no test set" not in capsys.readouterr().out
    summary = json.loads((tmp_path / "with_test" / "summary.json").read_text())
    assert main(["eval", str(tmp_path / "with_test")]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n_test"] == 30 and ev["test_accuracy"] == pytest.approx(summary["test_accuracy"], abs=1e-6)

    bad = write_csv(tmp_path / "bad.csv", Xt[:2], ["0", "9"])
    assert main(["eval", str(tmp_path / "plain"), "--data", bad]) == 2
    assert "classes ['9'] are not among the training classes" in capsys.readouterr().err
