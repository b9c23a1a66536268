"""The parameter validator: messages name the parameter, the allowed values and the given value."""

import numpy as np
import pytest

from semisup.classic import HasMethods, Interval, InvalidParameterError, LabelSpreading, validate_params
from semisup.classic._validation import encode_partial_labels

TABLE = {
    "n_neighbors": [Interval(int, 1, None)],
    "alpha": [Interval(float, 0, 1, closed="neither")],
    "kernel": [{"knn", "rbf"}],
    "max_memory": [Interval(int, 1, None), None],
    "estimator": [HasMethods(("fit",)), None],
}
GOOD = {"n_neighbors": 3, "alpha": 0.5, "kernel": "knn", "max_memory": None, "estimator": None}


def test_valid_values_pass():
    validate_params(GOOD, TABLE)
    validate_params({**GOOD, "alpha": 1e-9, "n_neighbors": np.int64(2), "max_memory": 10}, TABLE)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("alpha", 1.5, "alpha must be a float in (0, 1), got 1.5"),
        ("alpha", 0, "alpha must be a float in (0, 1), got 0"),
        ("alpha", "0.5", "alpha must be a float in (0, 1), got '0.5'"),
        ("n_neighbors", 0, "n_neighbors must be an int in [1, inf), got 0"),
        ("n_neighbors", 2.0, "n_neighbors must be an int in [1, inf), got 2.0"),
        ("n_neighbors", True, "n_neighbors must be an int in [1, inf), got True"),
        ("kernel", "gauss", "kernel must be one of {'knn', 'rbf'}, got 'gauss'"),
        ("max_memory", -1, "max_memory must be an int in [1, inf) or None, got -1"),
        ("estimator", 3, "estimator must be an object with fit() or None, got 3"),
    ],
)
def test_invalid_values_name_the_constraint(name, value, message):
    with pytest.raises(InvalidParameterError) as info:
        validate_params({**GOOD, name: value}, TABLE)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_nan_and_undeclared_parameters_are_rejected():
    with pytest.raises(InvalidParameterError, match="alpha must be"):
        validate_params({**GOOD, "alpha": float("nan")}, TABLE)
    with pytest.raises(InvalidParameterError, match=r"no constraint declared for parameter\(s\) \['gamma'\]"):
        validate_params({**GOOD, "gamma": 1.0}, TABLE)


def test_estimator_checks_in_fit_not_init():
    est = LabelSpreading(alpha=1.5)  # __init__ only stores
    assert est.alpha == 1.5
    with pytest.raises(
        InvalidParameterError, match=r"LabelSpreading: alpha must be a float in \(0, 1\), got 1.5"
    ):
        est.fit(np.zeros((4, 2)), np.array([0, 1, -1, -1]))


def test_encode_partial_labels_strings_and_numbers():
    classes, idx = encode_partial_labels(np.array(["b", -1, "a", "b"], dtype=object))
    assert classes.tolist() == ["a", "b"] and idx.tolist() == [1, -1, 0, 1]
    classes, idx = encode_partial_labels(np.array(["b", -1, "a"]))  # numpy turns -1 into "-1"
    assert classes.tolist() == ["a", "b"] and idx.tolist() == [1, -1, 0]
    classes, idx = encode_partial_labels(np.array([3, -1, 7, 3]))
    assert classes.tolist() == [3, 7] and idx.tolist() == [0, -1, 1, 0]
