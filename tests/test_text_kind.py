"""A CSV text column as a data kind: `--set data.text_column=review` embeds once (cached) and trains."""

from __future__ import annotations

import json

import pytest
from test_text_embed import FakeEncoder, fake, write_csv  # noqa: F401  (fixture)

from semisup.cli import main
from semisup.config import DataConfig
from semisup.data.dataset import DataError
from semisup.data.load import load_dataset


def test_text_column_trains_from_the_cli_and_caches(tmp_path, fake, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "cache"))
    csv = tmp_path / "reviews.csv"
    write_csv(csv)
    data = load_dataset(DataConfig(name=str(csv), labels_per_class=None, text_column="text"), 0)
    assert data.kind == "text" and data.X.shape == (40, 8) and data.n_labeled == 8
    assert data.classes == ["neg", "pos"] and FakeEncoder.calls == 1
    out = tmp_path / "run"
    args = ["train", "--data", str(csv), "--algorithm", "mean_teacher", "--steps", "10", "--out", str(out)]
    assert main([*args, "--no-progress", "--set", "data.text_column=text", "--set", "data.batch_size=4"]) == 0
    assert FakeEncoder.calls == 1  # the second read came from the cache
    cfg = (out / "config.yaml").read_text()
    assert "kind: text" in cfg and "text_column: text" in cfg
    assert json.loads((out / "summary.json").read_text())["kind"] == "text"


def test_missing_text_column_is_a_clear_error_before_training(tmp_path, fake, capsys):  # noqa: F811
    csv = tmp_path / "reviews.csv"
    write_csv(csv)
    with pytest.raises(DataError, match="no text column 'review'.*'text', 'label'"):
        load_dataset(DataConfig(name=str(csv), text_column="review"), 0)
    args = ["train", "--data", str(csv), "--set", "data.text_column=review", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    assert "no text column 'review'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and FakeEncoder.calls == 0


def test_text_run_predicts_a_csv_of_texts(tmp_path, fake, monkeypatch):  # noqa: F811
    import numpy as np

    import semisup

    monkeypatch.setenv("SEMISUP_CACHE", str(tmp_path / "cache"))
    csv = tmp_path / "reviews.csv"
    write_csv(csv)
    out = tmp_path / "run"
    args = ["train", "--data", str(csv), "--algorithm", "supervised", "--steps", "30", "--out", str(out)]
    assert main([*args, "--no-progress", "--set", "data.text_column=text", "--set", "data.batch_size=4"]) == 0
    new = tmp_path / "new.csv"
    new.write_text('text\n"great fun 3"\n"dull mess 4"\n')
    assert main(["predict", str(out), str(new), "--out", str(tmp_path / "p.csv")]) == 0
    pred = semisup.load(out)
    X, names = pred.read(new)
    assert X.shape == (2, 8) and names == ["0", "1"]
    assert np.allclose(X, FakeEncoder().encode(["great fun 3", "dull mess 4"]))
    assert (tmp_path / "p.csv").read_text().count("\n") == 3
