"""The command line: same code path as the API, clear errors with exit code 2."""

from __future__ import annotations

import csv
import json

import numpy as np

from semisup.cli import main


def train_args(out, *extra):
    return [
        "train",
        "--data",
        "moons",
        "--algorithm",
        "fixmatch",
        "--labels-per-class",
        "4",
        "--seed",
        "0",
        "--steps",
        "20",
        "--out",
        str(out),
        "--no-progress",
        "--set",
        "data.batch_size=8",
        "--set",
        "train.eval_every=10",
        *extra,
    ]


def test_train_eval_predict(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(out)) == 0
    assert "test accuracy" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    assert s["algorithm"] == "fixmatch" and s["labels_per_class"] == 4 and s["n_labeled"] == 8

    assert main(["eval", str(out)]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert abs(ev["test_accuracy"] - s["test_accuracy"]) < 1e-6 and ev["n_test"] == 1000

    X = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    np.savez(tmp_path / "new.npz", X=X)
    assert main(["predict", str(out), str(tmp_path / "new.npz"), "--out", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7 and set(rows[0]) >= {"item", "prediction", "confidence"}
    assert all(abs(float(r["p_upper"]) + float(r["p_lower"]) - 1) < 1e-5 for r in rows)


def test_config_file_and_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("algorithm:\n  name: pi_model\n  lambda_u: 5\ntrain:\n  steps: 6\n")
    out = tmp_path / "r"
    assert (
        main(
            [
                "train",
                "--config",
                str(tmp_path / "c.yaml"),
                "--data",
                "moons",
                "--out",
                str(out),
                "--no-progress",
                "--set",
                "data.batch_size=4",
            ]
        )
        == 0
    )
    text = (out / "config.yaml").read_text()
    assert "pi_model" in text and "lambda_u: 5.0" in text and "steps: 6" in text


def test_errors_exit_2_with_suggestions(tmp_path, capsys):
    assert main(train_args(tmp_path / "a", "--set", "train.stepz=3")) == 2
    assert "Did you mean train.steps" in capsys.readouterr().err
    assert main(["train", "--algorithm", "fixmach", "--data", "moons", "--out", str(tmp_path / "b")]) == 2
    assert "fixmatch" in capsys.readouterr().err
    assert main(["train", "--data", "digitz", "--out", str(tmp_path / "c")]) == 2
    assert "digits" in capsys.readouterr().err
    assert main(["train", "--net", "wrn28", "--data", "moons", "--out", str(tmp_path / "d")]) == 2
    assert "wrn28_2" in capsys.readouterr().err


def test_user_csv_keeps_its_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-3, 1, (40, 3)), rng.normal(3, 1, (40, 3))]
    labels = ["neg"] * 40 + ["pos"] * 40
    with open(tmp_path / "d.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "label"])
        for i, (x, lab) in enumerate(zip(X, labels, strict=True)):
            w.writerow([*x, lab if i % 10 == 0 else ""])
    out = tmp_path / "r"
    assert (
        main(
            [
                "train",
                "--data",
                str(tmp_path / "d.csv"),
                "--algorithm",
                "fixmatch",
                "--steps",
                "5",
                "--out",
                str(out),
                "--no-progress",
                "--set",
                "data.batch_size=4",
            ]
        )
        == 0
    )
    s = json.loads((out / "summary.json").read_text())
    assert s["n_labeled"] == 8 and s["labels_per_class"] is None and s["classes"] == ["neg", "pos"]
    assert main(["predict", str(out), str(tmp_path / "d.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 80


def test_list_and_demo(tmp_path, capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for name in (
        "fixmatch",
        "pi_model",
        "pseudo_label",
        "supervised",
        "digits",
        "moons",
        "mnist5k",
        "wrn28_2",
    ):
        assert name in text
    assert main(["demo", "--out", str(tmp_path / "demo"), "--steps", "30", "--fixmatch"]) == 0
    text = capsys.readouterr().out
    assert "supervised" in text and "fixmatch" in text and "pi_model" in text and "test accuracy" in text
    # the four-panel figure; k-means (k=2) clusters cut across both moons: 75.0 % as classes
    from PIL import Image

    assert Image.open(tmp_path / "demo" / "two_moons.png").size == (13 * 90, int(3.6 * 90))
    assert "k-means: test accuracy 75.0%" in text and "two_moons.png" in text


def test_benchmark_grid_resumes_and_tabulates(tmp_path, capsys):
    args = [
        "benchmark",
        "--data",
        "moons",
        "--algorithms",
        "supervised",
        "fixmatch",
        "--labels-per-class",
        "2",
        "--seeds",
        "0",
        "1",
        "--steps",
        "4",
        "--set",
        "data.batch_size=4",
        "--set",
        "net.name=mlp",
        "--algo-set",
        "fixmatch.threshold=0.5",
        "--out",
        str(tmp_path / "b"),
    ]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| moons | 2 | fixmatch | 4 |" in table and "supervised (all labels) | 1000 |" in table
    rows = list(csv.DictReader((tmp_path / "b" / "results.csv").open()))
    assert len(rows) == 6
    cfg = (tmp_path / "b" / "moons" / "lpc2" / "fixmatch-seed1" / "config.yaml").read_text()
    assert "threshold: 0.5" in cfg
    # rerunning reads finished cells back instead of training them again
    stamp = (tmp_path / "b" / "moons" / "lpc2" / "fixmatch-seed0" / "summary.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (tmp_path / "b" / "moons" / "lpc2" / "fixmatch-seed0" / "summary.json").stat().st_mtime_ns == stamp
    assert main([*args[:-2], "--set", "train.stepz=1", "--out", str(tmp_path / "c")]) == 2


def test_output_piped_into_head_is_not_a_traceback():
    """Regression (issue 13): `semisup list | head -1` printed a BrokenPipeError traceback."""
    import subprocess
    import sys

    cmd = f"{sys.executable} -m semisup list | head -1"
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr


def test_list_keeps_the_extras_in_install_hints(capsys):
    """Regression (issue 13): rich markup ate '[data]' in the mnist5k install hint."""
    assert main(["list"]) == 0
    assert "semisup[data]" in capsys.readouterr().out.replace("\n", "")
