"""SelfTrainingClassifier: exact selection counts on a hand-built probability table, stop reasons,
warnings, string labels, and a text Pipeline."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from semisup.classic import PseudoLabelWarning, SelfTrainingClassifier, select_pseudo_labels

# confidence of class 1 for the 10 unlabeled samples (rows 2..11); class 0 gets 1 - p
P1 = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.45, 0.3, 0.2, 0.15, 0.02])
TABLE = np.c_[1 - P1, P1]  # top confidences: .95 .9 .8 .7 .6 .55 .7 .8 .85 .98


class TableClassifier(ClassifierMixin, BaseEstimator):
    """Mock: X[:, 0] is a row id into a fixed probability table; counts its fits."""

    def __init__(self, table=None):
        self.table = table

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_fits_ = getattr(self, "n_fits_", 0) + 1
        return self

    def predict_proba(self, X):
        return self.table[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def table_data():
    """Rows 0, 1 labeled (classes 0, 1); rows 2..11 unlabeled with TABLE's probabilities."""
    table = np.r_[[[1.0, 0.0], [0.0, 1.0]], TABLE]
    X = np.arange(12)[:, None]
    y = np.r_[0, 1, np.full(10, -1)]
    return X, y, TableClassifier(table)


def test_select_pseudo_labels_on_the_table():
    assert select_pseudo_labels(TABLE, "threshold", threshold=0.75).tolist() == [0, 1, 2, 7, 8, 9]
    assert select_pseudo_labels(TABLE, "k_best", k_best=3).tolist() == [0, 1, 9]
    # class 1 predicted for rows 0-4 (conf .95 .9 .8 .7 .6), class 0 for rows 5-9 (.55 .7 .8 .85 .98)
    assert select_pseudo_labels(TABLE, "class_balanced", k_best=2).tolist() == [0, 1, 8, 9]
    assert select_pseudo_labels(TABLE, "curriculum", fraction=0.2).tolist() == [0, 9]
    assert select_pseudo_labels(TABLE, "curriculum", fraction=0.4).tolist() == [0, 1, 8, 9]
    # ties (.7 at rows 3 and 6, .8 at rows 2 and 7) are broken by position
    assert select_pseudo_labels(TABLE, "k_best", k_best=5).tolist() == [0, 1, 2, 8, 9]


@pytest.mark.parametrize(
    ("criterion", "kwargs", "per_iter", "stop"),
    [
        ("k_best", {"k_best": 3}, [3, 3, 3, 1], "all_labeled"),
        ("class_balanced", {"k_best": 2}, [4, 4, 2], "all_labeled"),
        ("curriculum", {"percentile_step": 0.2}, [2, 2, 2, 2, 2], "all_labeled"),
        ("k_best", {"k_best": 3, "max_iter": 2}, [3, 3], "max_iter"),
    ],
)
def test_fit_adds_exactly_the_expected_counts(criterion, kwargs, per_iter, stop):
    X, y, est = table_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PseudoLabelWarning)
        st = SelfTrainingClassifier(est, criterion=criterion, **kwargs).fit(X, y)
    assert st.n_pseudo_per_iter_ == per_iter
    assert st.termination_condition_ == stop and st.n_iter_ == len(per_iter)
    assert (st.labeled_iter_[:2] == 0).all()
    for t, n in enumerate(per_iter, start=1):
        assert (st.labeled_iter_ == t).sum() == n
    pseudo = st.transduction_[2:][st.labeled_iter_[2:] > 0]
    assert (pseudo == TABLE[st.labeled_iter_[2:] > 0].argmax(axis=1)).all()


def test_threshold_that_selects_nothing_warns_and_stops():
    X, y, est = table_data()
    with pytest.warns(PseudoLabelWarning, match="pseudo-labeled nothing"):
        st = SelfTrainingClassifier(est, threshold=0.99).fit(X, y)
    assert st.n_pseudo_per_iter_ == [0] and st.termination_condition_ == "no_change"
    assert (st.transduction_[2:] == -1).all() and (st.labeled_iter_[2:] == -1).all()


def test_threshold_that_selects_nearly_everything_warns():
    X, y, est = table_data()
    with pytest.warns(PseudoLabelWarning, match=r"pseudo-labeled 10 of the 10 remaining"):
        st = SelfTrainingClassifier(est, threshold=0.5).fit(X, y)
    assert st.n_pseudo_per_iter_ == [10] and st.termination_condition_ == "all_labeled"


def test_threshold_rounds_then_no_change():
    X, y, est = table_data()
    with pytest.warns(PseudoLabelWarning, match="round 2 pseudo-labeled nothing"):
        st = SelfTrainingClassifier(est, threshold=0.75).fit(X, y)
    assert st.n_pseudo_per_iter_ == [6, 0] and st.termination_condition_ == "no_change"


@pytest.mark.parametrize(("reinit", "fits"), [(False, 5), (True, 1)])
def test_reinit_clones_a_fresh_estimator_each_round(reinit, fits):
    X, y, est = table_data()
    st = SelfTrainingClassifier(est, criterion="k_best", k_best=3, reinit=reinit).fit(X, y)
    assert st.n_iter_ == 4 and st.estimator_.n_fits_ == fits  # 4 rounds + the final fit, or one fresh fit


def test_string_labels_round_trip_and_unlabeled_stay_minus_one():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (30, 2)), rng.normal(6, 1, (30, 2))]
    y = np.full(60, -1, dtype=object)
    y[:3], y[30:33] = "low", "high"
    st = SelfTrainingClassifier(LogisticRegression(), criterion="k_best", k_best=5, max_iter=2).fit(X, y)
    assert st.classes_.tolist() == ["high", "low"]
    assert st.predict(np.array([[0.0, 0.0], [6.0, 6.0]])).tolist() == ["low", "high"]
    assert (st.transduction_ == -1).sum() == 54 - 10
    labeled = st.transduction_ != -1
    assert set(st.transduction_[labeled]) == {"low", "high"}
    assert st.predict_proba(X).shape == (60, 2)


def test_pipeline_from_raw_text():
    sport = [
        "the team won the match",
        "the team scored a goal in the match",
        "the striker scored a goal",
        "fans cheered the striker and the team",
        "the coach praised the goal",
        "a tense match, a late goal",
    ]
    food = [
        "bake the bread with butter",
        "add salt to the soup",
        "the recipe needs butter and flour",
        "simmer the soup with salt",
        "the soup recipe uses onions",
        "the bread recipe uses flour",
    ]
    X = np.array(sport + food)
    truth = np.array(["sport"] * 6 + ["food"] * 6)
    y = np.full(12, -1, dtype=object)
    y[0], y[6] = "sport", "food"  # one label per class
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10))
    st = SelfTrainingClassifier(pipe, criterion="class_balanced", k_best=1).fit(X, y)
    assert st.termination_condition_ == "all_labeled" and st.n_pseudo_per_iter_ == [2] * 5
    assert (st.transduction_ == truth).all()
    assert st.predict(["the goal won the match", "butter the bread"]).tolist() == ["sport", "food"]
    # plain top-k on the same data drifts to the class that is more confident early (confirmation bias)
    drift = SelfTrainingClassifier(pipe, criterion="k_best", k_best=1).fit(list(X), y)  # a list works too
    assert (drift.transduction_ == truth).sum() == 7
