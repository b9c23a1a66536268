"""A small parameter validator and the ``-1 = unlabeled`` label encoding shared by the classic estimators.

Each estimator declares a table ``_parameter_constraints = {"name": [constraint, ...]}``; ``fit`` calls
:func:`validate_params` with ``self.get_params(deep=False)``. A value is valid when it satisfies any one
of its constraints. A constraint is one of

- an :class:`Interval` (``Interval(int, 1, None)``, ``Interval(float, 0, 1, closed="neither")``),
- a ``set``/``frozenset`` of allowed values (``{"knn", "rbf"}``),
- ``None`` (the value may be ``None``),
- a type such as ``bool`` (``isinstance`` check; ``bool`` is never accepted as a number),
- :class:`HasMethods` (duck-typed objects such as estimators).

Messages name the parameter, what was allowed and what was given: ``"alpha must be in (0, 1), got 1.5"``.
Unknown parameters (present in ``get_params`` but absent from the table) are a programming error and
raise too, so a new parameter cannot silently skip validation.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["HasMethods", "Interval", "InvalidParameterError", "encode_partial_labels", "validate_params"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a value outside its declared constraints (checked in ``fit``).

    Subclasses both ``ValueError`` and ``TypeError`` so callers may catch either, as in scikit-learn.
    """


@dataclass(frozen=True)
class Interval:
    """Numbers of ``kind`` (``int`` or ``float``; ``float`` also accepts ints) between ``left`` and ``right``.

    ``None`` on either side means unbounded. ``closed`` is one of ``"both"``, ``"left"``, ``"right"``,
    ``"neither"``.
    """

    kind: type
    left: float | None
    right: float | None
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise ValueError(f"Interval kind must be int or float, got {self.kind!r}")
        if self.closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Interval closed must be both/left/right/neither, got {self.closed!r}")

    def _type_ok(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        if self.kind is int:
            return isinstance(value, numbers.Integral)
        return isinstance(value, numbers.Real)

    def __contains__(self, value: Any) -> bool:
        if not self._type_ok(value):
            return False
        if isinstance(value, float) and np.isnan(value):
            return False
        lo_closed = self.closed in ("both", "left")
        hi_closed = self.closed in ("both", "right")
        if self.left is not None and (value < self.left or (value == self.left and not lo_closed)):
            return False
        return not (
            self.right is not None and (value > self.right or (value == self.right and not hi_closed))
        )

    def __str__(self) -> str:
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        noun = "an int" if self.kind is int else "a float"
        return f"{noun} in {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class HasMethods:
    """Any object that has all of ``methods`` (e.g. an estimator with ``fit`` and ``predict_proba``)."""

    methods: tuple[str, ...]

    def __contains__(self, value: Any) -> bool:
        return all(callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self) -> str:
        return "an object with " + ", ".join(f"{m}()" for m in self.methods)


def _satisfies(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, Interval | HasMethods):
        return value in constraint
    if isinstance(constraint, set | frozenset):
        # exact type match for strings so that e.g. 1 never matches {True} and numpy scalars stay allowed
        return isinstance(value, str | numbers.Number | type(None)) and value in constraint
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    raise TypeError(f"unknown constraint {constraint!r}")


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, set | frozenset):
        return "one of {" + ", ".join(repr(v) for v in sorted(constraint, key=repr)) + "}"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__name__}"
    return str(constraint)


def validate_params(params: dict[str, Any], constraints: dict[str, list[Any]], owner: str = "") -> None:
    """Raise :class:`InvalidParameterError` for the first parameter that satisfies none of its constraints.

    Example:
        >>> validate_params({"alpha": 1.5}, {"alpha": [Interval(float, 0, 1, closed="neither")]})
        Traceback (most recent call last):
        ...
        semisup.classic._validation.InvalidParameterError: alpha must be a float in (0, 1), got 1.5
    """
    prefix = f"{owner}: " if owner else ""
    unknown = sorted(set(params) - set(constraints))
    if unknown:
        raise InvalidParameterError(f"{prefix}no constraint declared for parameter(s) {unknown}")
    for name, value in params.items():
        allowed = constraints[name]
        if any(_satisfies(value, c) for c in allowed):
            continue
        descriptions = [_describe(c) for c in allowed]
        if len(descriptions) == 1:
            what = descriptions[0]
        else:
            what = ", ".join(descriptions[:-1]) + " or " + descriptions[-1]
        raise InvalidParameterError(f"{prefix}{name} must be {what}, got {value!r}")


def _unlabeled_mask(y: np.ndarray) -> np.ndarray:
    """``True`` where ``y`` is ``-1`` (or the string ``"-1"`` in a string array, as ``np.array(["a", -1])``
    turns ``-1`` into ``"-1"``)."""
    if y.dtype.kind in "US":
        return y == "-1"
    if y.dtype.kind == "O":
        return np.array([v == -1 or (isinstance(v, str) and v == "-1") for v in y], dtype=bool)
    return y == -1


def encode_partial_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split partial labels into ``(classes_, y_index)``.

    ``classes_`` holds the sorted distinct labels excluding ``-1``; ``y_index[i]`` is the position of
    ``y[i]`` in ``classes_``, or ``-1`` when sample ``i`` is unlabeled. String labels work (``-1`` in an
    object array, or ``"-1"`` in a string array, marks unlabeled samples).
    """
    y = np.asarray(y)
    unlabeled = _unlabeled_mask(y)
    labeled_values = y[~unlabeled]
    if y.dtype.kind == "O":
        labeled_values = (
            labeled_values.astype(str)
            if all(isinstance(v, str) for v in labeled_values)
            else (labeled_values)
        )
    classes, idx = np.unique(labeled_values, return_inverse=True)
    y_index = np.full(y.shape[0], -1, dtype=np.int64)
    y_index[~unlabeled] = idx
    return classes, y_index
