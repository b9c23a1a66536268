"""Choosing which examples keep their labels: stratified, seeded and deterministic."""

from __future__ import annotations

import numpy as np

from semisup.data.dataset import UNLABELED, DataError
from semisup.seeds import stream


def select_labeled(
    y: np.ndarray,
    labels_per_class: int | None = None,
    fraction: float | None = None,
    seed: int = 0,
    classes: list[str] | None = None,
) -> np.ndarray:
    """Indices of the examples to keep labeled, stratified by class.

    Args:
        y: (N,) labels; entries equal to -1 are never picked.
        labels_per_class: exactly this many per class.
        fraction: or this fraction of each class (at least one per class).
        seed: the same seed always gives the same indices (drawn from the seed's ``labels`` stream,
            ``semisup.seeds``, independent of its test split and batch streams).
    Returns:
        (K,) sorted int64 indices.
    Raises:
        DataError: if both or neither of ``labels_per_class``/``fraction`` are given, or a class has
            fewer examples than asked for.
    """
    if (labels_per_class is None) == (fraction is None):
        raise DataError("give exactly one of labels_per_class or label_fraction")
    if labels_per_class is not None and labels_per_class < 1:
        raise DataError(f"labels_per_class must be >= 1, got {labels_per_class}")
    if fraction is not None and not 0 < fraction <= 1:
        raise DataError(f"label_fraction must be in (0, 1], got {fraction}")
    y = np.asarray(y)
    rng = np.random.default_rng(stream(seed, "labels"))
    picked = []
    for c in np.unique(y[y != UNLABELED]):
        idx = np.flatnonzero(y == c)
        k = labels_per_class if labels_per_class is not None else max(1, round(fraction * len(idx)))
        if len(idx) < k:
            name = classes[int(c)] if classes else str(int(c))
            raise DataError(
                f"class {name!r} has {len(idx)} examples but labels_per_class={k}; "
                f"lower labels_per_class to at most {len(idx)} or add examples of that class"
            )
        picked.append(rng.choice(idx, size=k, replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)
