"""`--algorithm auto`: the budget, the choice rule (supervised unless SSL wins beyond noise), the run
folder it leaves (auto.json, a loadable model) and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_circles

import semisup
from semisup.auto import auto_fit, search
from semisup.auto.candidates import candidates_for
from semisup.auto.search import MIN_FOLD_STEPS, SSL_BUDGET, plan, shrink_steps
from semisup.cli import main
from semisup.config import ConfigError
from semisup.data.dataset import SSLDataset


def _partial(X, y, per_class: int, seed: int = 0, kind: str = "vector", name: str = "t") -> SSLDataset:
    rng = np.random.default_rng(seed)
    y_part = np.full_like(y, -1)
    for c in np.unique(y):
        idx = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        y_part[idx] = y[idx]
    Xt, yt = X[: len(X) // 4], y[: len(y) // 4]
    return SSLDataset(
        X=X.astype(np.float32), y=y_part.astype(np.int64), classes=["a", "b"], kind=kind,
        X_test=Xt.astype(np.float32), y_test=yt.astype(np.int64), name=name,
    )  # fmt: skip


@pytest.mark.parametrize(("n_labeled", "rarest", "n_ssl"), [(40, 4, 1), (8, 4, 1), (200, 20, 2), (10, 2, 1)])
def test_plan_keeps_deep_ssl_folds_within_the_budget(n_labeled, rarest, n_ssl):
    S = 1000
    folds, repeats, steps = plan(n_labeled, rarest, S, n_ssl)
    assert 2 <= folds <= min(4, max(rarest, 2)) and repeats in (1, 2)
    assert n_ssl * folds * repeats * steps <= SSL_BUDGET * S
    assert repeats == (1 if n_labeled >= 20 else 2)


def test_shrink_steps_keeps_the_search_within_its_time_budget():
    # 40 s spent; 3 folds left, each 5 s of classic fits + 20 s of deep runs at 500 steps; one run 30 s.
    # Budget 3 x 30 = 90 s leaves 90 - 40 - 3 * 5 = 35 s for 3 folds of deep runs: 500 * 35 / 60 steps.
    new = shrink_steps(500, 3, spent=40.0, fixed=5.0, deep=20.0, run_seconds=30.0)
    assert new == int(500 * 35 / 60) == 291
    assert 40 + 3 * (5 + 20 * new / 500) <= 90
    assert shrink_steps(500, 3, spent=10.0, fixed=1.0, deep=10.0, run_seconds=30.0) == 500  # fits: unchanged
    assert shrink_steps(500, 3, spent=100.0, fixed=5.0, deep=20.0, run_seconds=30.0) == MIN_FOLD_STEPS
    assert shrink_steps(500, 0, spent=100.0, fixed=5.0, deep=20.0, run_seconds=30.0) == 500  # nothing left
    assert shrink_steps(500, 3, spent=40.0, fixed=5.0, deep=20.0, run_seconds=30.0, budget=6.0) == 500


def test_search_shortens_later_folds_when_over_budget_and_says_so():
    X, y = make_blobs(300, centers=[[-3, 0], [3, 0]], cluster_std=1.0, random_state=0)
    data = _partial(X, y, 12)
    base = {"data": {"name": "blobs", "batch_size": 16}}
    # budget 0.01 one-run times: impossible, so every fold after the first runs the minimum
    tight = search(base, data, 200, classic=False, verbose=False, budget=0.01)
    assert tight.folds == 4 and tight.fold_steps == 100
    assert tight.steps_per_fold == [100, MIN_FOLD_STEPS, MIN_FOLD_STEPS, MIN_FOLD_STEPS]
    assert tight.run_seconds_estimate > 0 and "shortened to 50 steps (planned 100)" in tight.notes[0]
    free = search(base, data, 200, classic=False, verbose=False, budget=None)
    assert free.steps_per_fold == [100] * 4 and not free.notes and free.run_seconds_estimate is None


def test_candidates_put_supervised_first_and_suit_the_kind():
    names = [c.name for c in candidates_for("image")]
    assert names[0] == "supervised" and "fixmatch" in names
    assert "hist_gradient_boosting" in [c.name for c in candidates_for("table")]
    assert all(not c.deep for c in candidates_for("text", deep=False))
    # text embeddings: the reference is the linear probe, the net is a challenger like the SSL methods
    text = [c.name for c in candidates_for("text")]
    assert text[:2] == ["logistic_regression", "supervised"] and "mean_teacher" in text


def test_text_classic_candidates_see_the_embeddings_as_they_are():
    from sklearn.linear_model import LogisticRegression

    from semisup.auto.candidates import classic_estimator

    X = np.random.default_rng(0).normal(size=(40, 8))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = (X[:, 0] > 0).astype(int)
    text = classic_estimator("logistic_regression", 0, "text").fit(X, y)
    table = classic_estimator("logistic_regression", 0).fit(X, y)
    assert not hasattr(text, "steps") and hasattr(table, "steps")  # no imputer/scaler pipeline for text
    ref = LogisticRegression(max_iter=2000).fit(X, y)
    assert np.allclose(text.predict_proba(X), ref.predict_proba(X))


def test_ssl_is_chosen_when_it_wins_beyond_noise():
    # Concentric circles: a linear model on 10 labels per class is near chance, graph SSL is near perfect.
    X, y = make_circles(600, noise=0.04, factor=0.4, random_state=0)
    data = _partial(X, y, 10)
    r = search({"data": {"name": "circles"}}, data, 100, deep=False, verbose=False)
    acc = {c["name"]: c["accuracy"] for c in r.candidates}
    assert acc["label_spreading"] >= 0.95 and acc["logistic_regression"] <= 0.75
    assert r.choice == "label_spreading" and not r.choice_deep
    assert r.wins > r.losses and min(r.p_sign, r.p_t) <= r.alpha / 2  # 2 other candidates: Bonferroni
    assert r.n_heldout == 20 and len(r.candidates[0]["fold_accuracy"]) == r.folds * r.repeats


def test_supervised_is_kept_when_ssl_is_not_ahead():
    # Two far-apart blobs: the labels alone already classify perfectly; SSL cannot be ahead.
    X, y = make_blobs(400, centers=[[-5, 0], [5, 0]], cluster_std=0.5, random_state=0)
    data = _partial(X, y, 6)
    r = search({"data": {"name": "blobs"}}, data, 100, deep=False, verbose=False)
    assert r.choice == "logistic_regression" and "no candidate is ahead" in r.reason


def test_the_reference_is_kept_on_ties_and_noise():
    """The deep supervised baseline stays unless another candidate is ahead beyond noise: a classic
    supervised model that merely scores higher on a few held-out labels does not replace it."""
    from semisup.auto.search import decide_choice

    y = np.array([0, 1] * 6)
    exact = np.eye(2)[y]
    # the reference gets two of 12 wrong, the challenger all right: 2 wins, 0 losses, p_sign = 0.25
    ref = exact.copy()
    ref[[0, 1]] = 1 - ref[[0, 1]]
    ahead, wins, losses, p_sign, _ = decide_choice(ref * 0.8 + 0.1, exact * 0.8 + 0.1, y, 0.1, 2)
    assert (ahead, wins, losses, p_sign) == (False, 2, 0, 0.25)
    # equally right everywhere but sharper: no win, so sharper predictions alone never count
    assert not decide_choice(exact * 0.6 + 0.2, exact * 0.9 + 0.05, y, 0.1, 1)[0]
    # 3 wins, 0 losses (sign test p = 1/8 > 0.1) and every true class more probable: the t-test decides
    ref = exact * 0.8 + 0.1
    ref[[0, 1, 2]] = 1 - ref[[0, 1, 2]]
    ahead, wins, losses, p_sign, p_t = decide_choice(ref, exact * 0.9 + 0.05, y, 0.1, 1)
    assert (ahead, wins, losses, p_sign) == (True, 3, 0, 0.125) and p_t < 0.1


def test_auto_fit_writes_auto_json_and_a_loadable_model(tmp_path):
    X, y = make_circles(400, noise=0.04, factor=0.4, random_state=1)
    data = _partial(X, y, 10, seed=1)
    res = auto_fit({"data": {"name": "circles"}}, tmp_path / "run", data=data, deep=False, verbose=False)
    report = json.loads((tmp_path / "run" / "auto.json").read_text())
    assert report["choice"] == res.summary["auto"]["choice"] == "label_spreading"
    assert {c["name"] for c in report["candidates"]} >= {"logistic_regression", "label_spreading"}
    assert report["search_seconds"] > 0 and report["final_seconds"] is not None
    pred = semisup.load(tmp_path / "run")
    acc = float((pred.predict_ids(data.X_test) == data.y_test).mean())
    assert acc == pytest.approx(res.summary["test_accuracy"]) and acc > 0.95


def test_auto_fit_passes_budget_none_for_a_repeatable_search(tmp_path):
    X, y = make_blobs(200, centers=[[-3, 0], [3, 0]], cluster_std=1.0, random_state=0)
    base = {"data": {"name": "blobs", "batch_size": 16}, "train": {"steps": 120}}
    auto_fit(base, tmp_path / "r", data=_partial(X, y, 12), classic=False, verbose=False, budget=None)
    report = json.loads((tmp_path / "r" / "auto.json").read_text())
    assert report["run_seconds_estimate"] is None and len(set(report["steps_per_fold"])) == 1


def test_auto_refuses_algorithm_settings():
    with pytest.raises(ConfigError, match="paper defaults"):
        auto_fit({"algorithm": {"name": "auto", "threshold": 0.9}, "data": {"name": "moons"}})


def test_cli_auto_trains_the_winner(tmp_path, capsys):
    X, y = make_blobs(300, centers=[[-4, 0], [4, 0]], cluster_std=0.7, random_state=0)
    yy = np.full(len(y), -1)
    yy[np.flatnonzero(y == 0)[:10]] = 0
    yy[np.flatnonzero(y == 1)[:10]] = 1
    np.savez(tmp_path / "d.npz", X=X.astype(np.float32), y=yy, X_test=X[:50], y_test=y[:50])
    out = tmp_path / "run"
    args = ["train", "--data", str(tmp_path / "d.npz"), "--algorithm", "auto", "--steps", "40"]
    assert main([*args, "--out", str(out), "--no-progress", "--set", "data.batch_size=8"]) == 0
    text = capsys.readouterr().out
    report = json.loads((out / "auto.json").read_text())
    assert f"auto: chose {report['choice']}" in text and "test accuracy" in text
    assert report["run_steps"] == 40 and report["fold_steps"] <= 40
    assert json.loads((out / "summary.json").read_text())["test_accuracy"] >= 0.95


def test_deep_estimator_auto_option(tmp_path):
    from semisup.classic import DeepSSLClassifier

    X, y = make_circles(300, noise=0.04, factor=0.4, random_state=2)
    y_part = np.full(len(y), -1)
    for c in (0, 1):
        y_part[np.flatnonzero(y == c)[:10]] = c
    est = DeepSSLClassifier("auto", steps=40, batch_size=8, random_state=0).fit(X, y_part)
    assert est.auto_["choice"] in {c.name for c in candidates_for("vector")}
    proba = est.predict_proba(X)
    assert proba.shape == (300, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert (est.predict(X) == y).mean() > 0.9


def test_run_config_points_auto_to_the_search():
    with pytest.raises(ConfigError, match="auto_fit"):
        semisup.RunConfig.from_dict({"algorithm": "auto"})


def test_a_run_config_keeps_what_it_left_unset_for_the_search():
    from semisup.auto.run import _base_dict
    from semisup.config import RunConfig

    base = _base_dict(RunConfig.from_dict({"algorithm": "fixmatch", "train": {"steps": 50}}))
    # the algorithm is the search's to choose; mu and weight decay stay free for each candidate and kind
    assert "algorithm" not in base and "mu" not in base["data"] and "weight_decay" not in base["optim"]
    assert base["train"]["steps"] == 50
    given = _base_dict(RunConfig.from_dict({"optim": {"weight_decay": 0.01}, "data": {"mu": 3}}))
    assert given["optim"]["weight_decay"] == 0.01 and given["data"]["mu"] == 3
    assert RunConfig.from_dict({**base, "algorithm": "supervised"}).optim.weight_decay == 5e-4  # unresolved
