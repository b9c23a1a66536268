"""The active-learning loop with a simulated oracle on tiny data: budget, distinct queries, stopping."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from semisup.active import ActiveLoop, DeepRunLearner, SimulatedOracle, SklearnLearner
from semisup.classic import LabelSpreading, SelfTrainingClassifier
from semisup.registry import UnknownNameError


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(400, centers=4, cluster_std=1.5, random_state=3)  # LR on all 300: 96 %
    return X[:300], y[:300], X[300:], y[300:]


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(400, noise=0.08, random_state=0)
    Xt, yt = make_moons(400, noise=0.08, random_state=1)
    return X, y, Xt, yt


@pytest.mark.parametrize("strategy", ["random", "margin", "entropy", "coreset", "typiclust"])
def test_budget_respected_no_repeats_and_accuracy_grows(blobs, strategy):
    X, y, Xt, yt = blobs
    oracle = SimulatedOracle(y)
    loop = ActiveLoop(
        LogisticRegression(), strategy, batch_size=4, budget=30, initial_strategy="random", seed=0
    )
    result = loop.run(X, oracle, X_test=Xt, y_test=yt)
    n, acc = result.curve()
    assert n.tolist() == [4, 8, 12, 16, 20, 24, 28, 30]  # the last batch is cut to the budget
    assert result.stop_reason == "budget" and oracle.n_queries_ == 30
    assert len(set(result.labeled.tolist())) == 30
    assert np.concatenate([r.queried for r in result.history]).tolist() == result.labeled.tolist()
    assert (result.y[result.labeled] == y[result.labeled]).all() and (result.y != -1).sum() == 30
    assert acc[-1] >= 0.9  # four well separated blobs: 30 labels suffice
    assert acc[4:].mean() >= acc[:4].mean()  # non-decreasing on average


def test_oracle_refuses_an_item_twice():
    oracle = SimulatedOracle(np.array([0, 1, 0]))
    assert oracle(np.array([2, 0])).tolist() == [0, 0]
    with pytest.raises(ValueError, match="asked twice"):
        oracle(np.array([1, 2]))


def test_stabilising_predictions_stop_the_loop(blobs):
    # two far-apart blobs: once both classes are labeled no prediction ever changes
    X, y = make_blobs(200, centers=[[-20, 0], [20, 0]], cluster_std=1.0, random_state=0)
    loop = ActiveLoop(
        LogisticRegression(), "margin", batch_size=2, initial_strategy="typiclust", stop_tol=0.01, patience=2
    )
    result = loop.run(X, SimulatedOracle(y), X_test=X, y_test=y)
    assert result.stop_reason == "stable"
    assert [r.changed for r in result.history] == [None, 0.0, 0.0]
    assert result.history[-1].n_labels == 6 and result.history[-1].accuracy == 1.0


def test_stable_does_not_fire_while_predictions_change(moons):
    X, y, Xt, yt = moons
    result = ActiveLoop(
        LogisticRegression(), "random", batch_size=2, budget=10, stop_tol=1e-9, initial_strategy="random"
    ).run(X, SimulatedOracle(y))
    assert result.stop_reason == "budget"  # a strictly positive tol never sees "< 1e-9 changed" twice here
    assert any(r.changed > 0 for r in result.history[1:])
    assert all(r.accuracy is None for r in result.history)


def test_max_rounds_and_pool_exhausted():
    X, y = make_blobs(12, centers=2, random_state=0)
    loop = ActiveLoop(LogisticRegression(), "margin", batch_size=5, initial_strategy="random")
    r = loop.run(X, SimulatedOracle(y))
    assert r.stop_reason == "pool_exhausted" and [h.n_labels for h in r.history] == [5, 10, 12]
    r = ActiveLoop(LogisticRegression(), "margin", batch_size=2, max_rounds=3, initial_strategy="random").run(
        X, SimulatedOracle(y)
    )
    assert r.stop_reason == "max_rounds" and len(r.history) == 4


def test_given_labels_start_and_one_class_falls_back_to_initial_strategy(moons):
    X, y, _, _ = moons
    given = np.full(len(y), -1)
    first = np.flatnonzero(y == 0)[:3]
    given[first] = 0  # one class only: the model is a constant predictor
    r = ActiveLoop(LogisticRegression(), "margin", batch_size=4, budget=11, initial_strategy="typiclust").run(
        X, SimulatedOracle(y), y=given
    )
    assert r.history[0].strategy == "given" and r.history[0].n_labels == 3
    assert r.labeled[:3].tolist() == first.tolist()
    assert r.history[1].strategy == "typiclust"  # still < 2 classes before round 1
    assert r.history[-1].strategy == "margin" and r.history[-1].n_labels == 11


def test_al_x_ssl_beats_supervised_with_few_labels_on_moons(moons):
    X, y, Xt, yt = moons
    kw = {"batch_size": 4, "budget": 8, "initial_strategy": "typiclust", "seed": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sup = ActiveLoop(LogisticRegression(), "margin", **kw).run(
            X, SimulatedOracle(y), X_test=Xt, y_test=yt
        )
        ssl = ActiveLoop(LabelSpreading(n_neighbors=10), "margin", **kw).run(
            X, SimulatedOracle(y), X_test=Xt, y_test=yt
        )
    # a linear model on 8 labels cannot separate the moons; the graph spreads them along each moon
    assert sup.history[-1].accuracy < 0.92
    assert ssl.history[-1].accuracy > 0.95


@pytest.mark.filterwarnings("ignore::semisup.classic.PseudoLabelWarning")
def test_ssl_option_wraps_a_supervised_estimator_in_self_training(blobs):
    X, y, Xt, yt = blobs
    loop = ActiveLoop(
        LogisticRegression(), "margin", ssl=True, batch_size=4, budget=12, initial_strategy="typiclust"
    )
    r = loop.run(X, SimulatedOracle(y), X_test=Xt, y_test=yt)
    assert isinstance(r.learner, SklearnLearner) and r.learner.semi_supervised
    est = r.learner.estimator_
    assert isinstance(est, SelfTrainingClassifier)
    assert (est.transduction_ != -1).sum() > 12  # it pseudo-labeled part of the unlabeled pool
    assert r.history[-1].accuracy > 0.9


def test_clear_errors():
    with pytest.raises(ValueError, match="predict_mc_proba"):
        ActiveLoop(LogisticRegression(), "bald")
    with pytest.raises(UnknownNameError, match="'margin'"):
        ActiveLoop(LogisticRegression(), "margni")
    with pytest.raises(TypeError, match="probability"):
        ActiveLoop(LinearSVC(), "margin")
    with pytest.raises(ValueError, match="initial_strategy 'margin' needs a model"):
        ActiveLoop(LogisticRegression(), initial_strategy="margin")
    with pytest.raises(ValueError, match="stop_tol must be in"):
        ActiveLoop(LogisticRegression(), stop_tol=0.0)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        ActiveLoop(LogisticRegression(), batch_size=0)
    X, y = make_blobs(20, centers=2, random_state=0)
    with pytest.raises(ValueError, match="the oracle must return 4 labels"):
        loop = ActiveLoop(LogisticRegression(), batch_size=4, initial_strategy="random")
        loop.run(X, lambda idx: y[idx][:2])


def test_deep_run_learner_with_bald(moons, tmp_path):
    X, y, Xt, yt = moons
    cfg = {
        "algorithm": "fixmatch",
        "net": {"name": "mlp", "dropout": 0.2},
        "train": {"steps": 30, "eval_every": 30, "checkpoint_every": 30, "log_every": 10, "ema_decay": 0.0},
        "data": {"batch_size": 8, "mu": 2},
    }
    learner = DeepRunLearner(cfg, n_classes=2, mc_samples=8, out_dir=tmp_path)
    loop = ActiveLoop(learner, "bald", batch_size=4, budget=8, initial_strategy="typiclust", seed=0)
    r = loop.run(X.astype(np.float32), SimulatedOracle(y), X_test=Xt.astype(np.float32), y_test=yt)
    assert [h.strategy for h in r.history] == ["typiclust", "bald"]
    assert len(set(r.labeled.tolist())) == 8
    mc = learner.predict_mc_proba(X[:50].astype(np.float32))
    assert mc.shape == (8, 50, 2) and np.allclose(mc.sum(-1), 1, atol=1e-5)
    assert mc.std(axis=0).max() > 0  # dropout makes the passes differ
    assert r.history[-1].accuracy > 0.6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["round_0", "round_1"]  # one run folder a round
    assert (tmp_path / "round_1" / "checkpoints" / "last.ckpt").is_file()


def test_pipeline_marked_semi_supervised_sees_the_unlabeled_pool(moons):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, Xt, yt = moons
    pipe = make_pipeline(StandardScaler(), LabelSpreading(n_neighbors=10))
    learner = SklearnLearner(pipe, semi_supervised=True)
    r = ActiveLoop(learner, "margin", batch_size=4, budget=8, initial_strategy="typiclust").run(
        X, SimulatedOracle(y), X_test=Xt, y_test=yt
    )
    spreading = r.learner.estimator_[-1]
    assert (spreading.transduction_ != -1).all() and r.history[-1].accuracy > 0.95
    assert len(spreading.transduction_) == len(X)
    unmarked = SklearnLearner(pipe).fit(X[:8], np.r_[y[:4], [-1] * 4])  # fitted on the labeled rows only
    assert not unmarked.semi_supervised and len(unmarked.estimator_[-1].transduction_) == 4


@pytest.mark.slow
def test_digits_target_95_percent_with_30_labels():
    """The BENCHMARKS.md headline: margin-diverse x LabelSpreading, TypiClust start, digits, seed 0."""
    from semisup.data.load import read_data

    d = read_data("digits")
    X, Xt = d.X.reshape(len(d.X), -1), d.X_test.reshape(len(d.X_test), -1)
    loop = ActiveLoop(
        LabelSpreading(), "margin", batch_size=5, budget=30, initial_size=10,
        initial_strategy="typiclust", candidate_factor=5, seed=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = loop.run(X, SimulatedOracle(d.y), X_test=Xt, y_test=d.y_test)
    assert r.history[-1].n_labels == 30 and r.history[-1].accuracy >= 0.95
