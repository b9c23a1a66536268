"""The command line as a person meets it (issue 13): a user mistake is one line on stderr and exit code
2, never a traceback; ``--help`` shows every default without importing torch."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from semisup.cli import build_parser, main


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def _image_folder(root, sizes: list[tuple[int, int]]) -> str:
    """Two classes a/b with one image per size (H, W) each, plus the same unlabeled."""
    rng = np.random.default_rng(0)
    for sub in ("a", "b", "unlabeled"):
        (root / sub).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            Image.fromarray(rng.integers(0, 255, (h, w), dtype=np.uint8)).save(root / sub / f"{i}.png")
    return str(root)


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("runs") / "vec"
    args = ["train", "--data", "moons", "--algorithm", "supervised", "--steps", "2", "--no-progress"]
    assert main([*args, "--set", "data.batch_size=4", "--out", str(out)]) == 0
    return str(out)


def test_parser_and_import_do_not_load_torch():
    """`semisup --help` must answer at once: building the parser imports no torch, Fabric or numpy,
    and `import semisup` is light while `semisup.fit` and friends still resolve."""
    code = (
        "import sys, semisup, semisup.cli\n"
        "semisup.cli.build_parser()\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lightning_fabric', 'numpy'})\n"
        "print(heavy)\n"
        "print(callable(semisup.fit), 'fixmatch' in semisup.ALGORITHMS, semisup.RunConfig.__name__)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["[]", "True True RunConfig"]


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_shows_its_default():
    subs = _subparsers(build_parser())
    assert {"train", "predict", "check", "benchmark", "pretrain", "distill", "embed"} <= set(subs)
    for name, sub in subs.items():
        if name == "label":  # its own parser (semisup.app.cli)
            continue
        formatter = sub._get_formatter()
        for action in sub._actions:
            if not action.option_strings or action.dest == "help":
                continue
            text = formatter._get_help_string(action) or ""
            assert "default" in text and "default: None" not in text, (name, action.option_strings, text)
    assert "(default: 2000)" in subs["benchmark"].format_help().replace("\n", " ").replace("  ", " ")


def test_static_name_tables_match_the_registries():
    """Help texts list names without importing torch; the tables must follow the registries."""
    from semisup.registry import ALGORITHM_NAMES, ALGORITHMS, DATASET_NAMES, DATASETS, NET_NAMES, NETS

    assert list(ALGORITHM_NAMES) == ALGORITHMS.names()
    assert list(NET_NAMES) == NETS.names()
    assert list(DATASET_NAMES) == DATASETS.names()


def test_malformed_yaml_config(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("train:\n  steps: [1,\n  x: :\n")
    assert main(["train", "--config", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "not valid YAML" in _error_line(capsys) and not (tmp_path / "r").exists()
    assert main(["train", "--config", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "is a folder, not a file" in _error_line(capsys)


def test_cnn_on_vectors(tmp_path, capsys):
    args = ["train", "--data", "moons", "--net", "cnn", "--steps", "2", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "r")]) == 2
    assert "'cnn' needs images" in _error_line(capsys)


def test_resume_refuses_other_flags(vector_run, capsys):
    """Regression (issue 13): `--resume RUN --steps 5` silently ignored --steps."""
    assert main(["train", "--resume", vector_run, "--steps", "5", "--seed", "3"]) == 2
    err = _error_line(capsys)
    assert "not allowed with it: --seed, --steps" in err and "config.yaml" in err


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [
        (lambda d: _image_folder(d / "imgs", [(8, 8)]), "is a folder of images but the model was trained on"),
        (lambda d: np.savez(d / "x.npz", X=np.zeros((3, 5), np.float32)) or str(d / "x.npz"), "shape (5,)"),
        (lambda d: (d / "x.csv").write_text("a,b,c\n1,2,3\n") and str(d / "x.csv"), "shape (3,)"),
        (lambda d: np.savez(d / "k.npz", A=np.zeros(3)) or str(d / "k.npz"), "put the inputs under key 'X'"),
        (lambda d: str(d / "missing.npz"), "does not exist"),
    ],
)
def test_predict_mismatched_inputs(vector_run, tmp_path, capsys, make_input, expected):
    path = make_input(tmp_path)
    assert main(["predict", vector_run, path, "--out", str(tmp_path / "p.csv")]) == 2
    assert expected in _error_line(capsys)


def test_predict_csv_with_an_image_model(tmp_path, capsys):
    folder = _image_folder(tmp_path / "imgs", [(8, 8)] * 3)
    out = tmp_path / "run"
    args = ["train", "--data", folder, "--algorithm", "supervised", "--steps", "2", "--no-progress"]
    assert main([*args, "--set", "data.batch_size=2", "--out", str(out)]) == 0
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert main(["predict", str(out), str(tmp_path / "x.csv"), "--out", str(tmp_path / "p.csv")]) == 2
    assert "trained on (1, 8, 8)" in _error_line(capsys)


def test_mixed_image_sizes_name_a_real_option_that_works(tmp_path, capsys):
    """Regression (issue 13): the error advised `size=(H, W)`, which no flag accepted."""
    folder = _image_folder(tmp_path / "imgs", [(8, 8), (10, 9), (8, 8)])
    base = ["train", "--data", folder, "--algorithm", "supervised", "--steps", "2", "--no-progress"]
    base += ["--set", "data.batch_size=2"]
    assert main([*base, "--out", str(tmp_path / "r1")]) == 2
    assert "--image-size H W" in _error_line(capsys)
    out = tmp_path / "r2"
    assert main([*base, "--image-size", "12", "10", "--out", str(out)]) == 0
    assert "image_size:\n  - 12\n  - 10" in (out / "config.yaml").read_text()
    from semisup.predictor import load

    assert load(out).input_shape == (1, 12, 10)
    # the same mixed-size folder scores with `eval --data`: resized to the run's input, as predict does
    capsys.readouterr()
    assert main(["eval", str(out), "--data", folder]) == 0
    import json

    shown = json.loads(capsys.readouterr().out)
    assert shown["n_test"] == 6 and 0.0 <= shown["test_accuracy"] <= 1.0
    assert main(["train", "--data", "moons", "--image-size", "8", "8", "--out", str(tmp_path / "r3")]) == 2
    assert "resizes image folders only" in _error_line(capsys)


def test_check_reports_progress_per_training(capsys):
    """Regression (issue 13): `semisup check` printed nothing for minutes."""
    args = ["check", "--data", "moons", "--algorithm", "pi_model", "--labels-per-class", "2", "--folds", "2"]
    assert main([*args, "--check-steps", "2", "--no-progress", "--set", "data.batch_size=2"]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("check [")]
    assert len(lines) == 4  # 2 folds x (supervised, pi_model), one plain line each when not a terminal
    assert lines[0].startswith("check [1/4] fold 1/2: supervised, 2 steps (")
    assert lines[3].startswith("check [4/4] fold 2/2: pi_model") and lines[3].endswith("s elapsed)")
