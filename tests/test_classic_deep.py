"""DeepSSLClassifier: the CLI's engine behind the scikit-learn API (tiny runs on CPU)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import semisup
from semisup.classic import DeepSSLClassifier, FixMatchClassifier, MeanTeacherClassifier
from semisup.config import ConfigError

TINY = {"steps": 20, "batch_size": 16, "mu": 2, "random_state": 0}


def _moons(n=300, n_labeled=8):
    X, y = make_moons(n, noise=0.1, random_state=0)
    y_part = np.full(n, -1)
    for c in (0, 1):
        y_part[np.flatnonzero(y == c)[: n_labeled // 2]] = c
    return X, y, y_part


def test_same_engine_as_semisup_fit(tmp_path):
    """The estimator's predictions equal those of semisup.fit + semisup.load on the same data and config."""
    X, _, y_part = _moons()
    clf = DeepSSLClassifier("fixmatch", out=str(tmp_path / "est"), **TINY).fit(X, y_part)
    data = semisup.SSLDataset(X=X.astype(np.float32), y=y_part, classes=["0", "1"], kind="vector")
    semisup.fit(clf.config_, tmp_path / "cli", data=data)
    ref = semisup.load(tmp_path / "cli").predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(X), ref, rtol=1e-4, atol=1e-6)  # float64 vs float32
    assert (tmp_path / "est" / "summary.json").exists() and clf.n_iter_ == 20
    assert clf.config_.algorithm == "fixmatch" and clf.config_.net == "mlp"


def test_string_labels_pipeline_and_probabilities():
    X, y, y_part = _moons()
    names = np.array(["left", "right"])
    y_str = np.where(y_part >= 0, names[np.maximum(y_part, 0)], "-1").astype(object)
    y_str[y_part == -1] = -1
    pipe = make_pipeline(StandardScaler(), FixMatchClassifier(**TINY)).fit(X, y_str)
    assert list(pipe.classes_) == ["left", "right"]
    proba = pipe.predict_proba(X)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(pipe.predict(X)) <= {"left", "right"}


def test_image_shape_reshapes_rows_into_images():
    rng = np.random.default_rng(0)
    X = rng.random((64, 64)).astype(np.float32)
    y = np.full(64, -1)
    y[:4], y[4:8] = 0, 1
    clf = DeepSSLClassifier(
        "fixmatch", net_params={"width": 4}, image_shape=(1, 8, 8), steps=3, batch_size=8, mu=1
    ).fit(X, y)
    assert clf.kind_ == "image" and clf.input_shape_ == (1, 8, 8) and clf.config_.net == "cnn"
    assert clf.predict(X).shape == (64,)
    with pytest.raises(ValueError, match="image_shape"):
        DeepSSLClassifier(image_shape=(1, 4, 4), steps=1).fit(X, y)


@pytest.mark.slow
def test_learns_two_moons_from_eight_labels():
    X, y, y_part = _moons(500)
    clf = MeanTeacherClassifier(steps=300, batch_size=8, mu=4, random_state=0,
                                config={"augment": {"noise_std": 0.05}}).fit(X, y_part)  # fmt: skip
    assert clf.score(X, y) > 0.9


def test_fully_labeled_data_falls_back_to_supervised_with_a_warning():
    X, y, _ = _moons(100)
    with pytest.warns(UserWarning, match="no unlabeled sample"):
        clf = FixMatchClassifier(**TINY).fit(X, y)
    assert clf.algorithm_ == "supervised"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DeepSSLClassifier("supervised", **TINY).fit(X, y)


def test_errors_name_the_problem():
    X, _, y_part = _moons(60)
    with pytest.raises(ConfigError, match="thresh"):
        FixMatchClassifier(algorithm_params={"thresh": 0.9}, steps=1).fit(X, y_part)
    with pytest.raises(ValueError, match="steps must be"):
        FixMatchClassifier(steps=0).fit(X, y_part)
    with pytest.raises(ValueError, match="one class"):
        FixMatchClassifier(steps=1).fit(X, np.where(y_part == 1, -1, y_part))
    clf = FixMatchClassifier(**TINY).fit(X, y_part)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.zeros((3, 5)))
    assert isinstance(clf.model_, torch.nn.Module) and not clf.model_.training
