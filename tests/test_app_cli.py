"""`semisup label` arguments: suggestions from a trained run, refused strategies and data."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import make_image_npz

from semisup.app.cli import build_app, serve_parser
from semisup.cli import main


def test_suggestions_from_a_trained_run(tmp_path, capsys):
    run = tmp_path / "run"
    train = ["train", "--data", "moons", "--algorithm", "supervised", "--labels-per-class", "4",
             "--steps", "5", "--out", str(run), "--no-progress", "--set", "data.batch_size=8"]  # fmt: skip
    assert main(train) == 0
    args = serve_parser().parse_args(["moons", "--db", str(tmp_path / "l.sqlite"), "--run", str(run)])
    app = build_app(args)
    from semisup.predictor import load

    want = load(run).predict_proba(app.items.inputs)
    state = app.suggester.state
    assert (state.version, app.suggester.retrain) == (1, False)
    np.testing.assert_allclose(state.proba, want, rtol=1e-6)
    item = app.item("5")
    assert item["suggestion"] == app.items.classes[int(want[5].argmax())]
    assert item["confidence"] == pytest.approx(float(want[5].max()))
    app.store.close()
    bad = ["label", "digits", "--db", str(tmp_path / "d.sqlite"), "--run", str(run)]
    assert main(bad) == 2
    assert "predicts classes ['upper', 'lower']" in capsys.readouterr().err


def test_refused_arguments(tmp_path, capsys):
    image_npz = make_image_npz(tmp_path)
    db = str(tmp_path / "l.sqlite")
    assert main(["label", str(image_npz), "--db", db, "--strategy", "bald", "--run", str(tmp_path)]) == 2
    assert "needs a committee of models the app refits itself" in capsys.readouterr().err
    assert main(["label", str(image_npz), "--db", db, "--strategy", "marginn"]) == 2
    assert "margin" in capsys.readouterr().err  # the closest names
    assert main(["label", "no/such/file.npz", "--db", db]) == 2
    assert "no file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["label", str(image_npz), "--db", db, "--run", "r", "--retrain"])  # one or the other


def test_bald_queue_gets_a_committee(tmp_path):
    from semisup.app.cli import build_app, serve_parser

    args = serve_parser().parse_args([str(make_image_npz(tmp_path)), "--db", str(tmp_path / "b.sqlite"),
                                      "--strategy", "bald"])  # fmt: skip
    app = build_app(args)
    try:
        assert app.suggester.mc_samples == 20
        for k in range(0, 24, 3):  # a few labels of every class, so there is a model to bootstrap
            app.label("s", app.items.ids[k], app.items.classes[(k // 3) % 3])
        state = app.suggester.fit_now()
        assert state.mc_proba is not None and state.mc_proba.shape[:2] == (20, len(app.items))
    finally:
        app.store.close()
