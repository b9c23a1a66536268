"""Class mismatch: an unlabeled pool that holds classes the labels never mention.

Oliver et al. 2018, "Realistic Evaluation of Deep Semi-Supervised Learning Algorithms"
(https://arxiv.org/abs/1804.09170), Sec. 4.6: six CIFAR-10 classes are labeled, and a chosen share of
the unlabeled pool comes from the other four; the pool size is held constant so only its composition
changes. Here the same split is made for any fully labeled ``SSLDataset``:

- the labeled examples come from the *known* classes only (``labels_per_class`` or ``fraction``);
- the unlabeled pool has ``pool_size`` examples, ``round(fraction * pool_size)`` of them from the
  mismatch classes and the rest from the known classes' unlabeled examples;
- the known classes are renumbered 0..K-1 and become the model's only outputs; the test split keeps
  the known classes only, and its examples of the mismatch classes become ``X_test_unknown``, the
  unknown-class test inputs of an open-set evaluation (closed-set accuracy on the known classes,
  AUROC of the unknown score: ``semisup.engine.open_set``). Pool examples of mismatch classes get
  ``y_true = -1`` (no class the model has), so ``train/pseudo_acc`` is measured on the known-class
  part of the pool.

Training examples in neither the labeled set nor the pool are dropped.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from semisup.data.dataset import UNLABELED, DataError, SSLDataset
from semisup.data.split import select_labeled
from semisup.seeds import stream


def mismatch_pool_sizes(y: np.ndarray, mismatch_classes: list[int], n_labeled: int) -> tuple[int, int]:
    """(known-class examples left after labeling, mismatch-class examples) in fully labeled ``y``."""
    mis = np.isin(y, mismatch_classes)
    return int((~mis).sum()) - n_labeled, int(mis.sum())


def class_mismatch(
    data: SSLDataset,
    mismatch_classes: list[int],
    fraction: float,
    labels_per_class: int | None = None,
    label_fraction: float | None = None,
    seed: int = 0,
    pool_size: int | None = None,
) -> SSLDataset:
    """The data set with labels from the known classes and an unlabeled pool of the given composition.

    Args:
        data: a data set whose training labels are all known (``y`` or ``y_true``), e.g. a built-in.
        mismatch_classes: class ids (0..C-1) that are never labeled; at least two classes must remain.
        fraction: share of the unlabeled pool drawn from ``mismatch_classes``, in [0, 1].
        labels_per_class, label_fraction: labels kept per known class (as ``select_labeled``); both
            ``None`` keeps the labels the data has on known classes.
        seed: the same seed gives the same labeled set and pool.
        pool_size: unlabeled examples in the pool; ``None`` takes the largest size that every fraction
            in [0, 1] can fill: min(known-class examples left after labeling, mismatch-class examples).
    Returns:
        A new ``SSLDataset`` with K = C - len(mismatch_classes) classes (renumbered in id order),
        ``n_labeled`` labeled examples and exactly ``pool_size`` unlabeled ones; its test split holds
        the known classes and ``X_test_unknown`` the test examples of the mismatch classes.
    Raises:
        DataError: bad class ids or fraction, training labels unknown, or too few examples.
    """
    C = data.num_classes
    mis = sorted({int(c) for c in mismatch_classes})
    if not mis:
        raise DataError("data.mismatch_classes is empty: name at least one class id to hide")
    bad = [c for c in mis if not 0 <= c < C]
    if bad:
        raise DataError(f"data.mismatch_classes {bad} are not class ids of {data.name!r} (0..{C - 1})")
    known = [c for c in range(C) if c not in mis]
    if len(known) < 2:
        raise DataError(
            f"data.mismatch_classes {mis} leave {len(known)} labeled class(es); at least two must remain"
        )
    if not 0.0 <= fraction <= 1.0:
        raise DataError(f"data.mismatch_fraction must be in [0, 1], got {fraction}")
    true = data.y if data.y_true is None else np.where(data.y_true >= 0, data.y_true, data.y)
    if (true < 0).any():
        raise DataError(
            f"class mismatch needs the true class of every training example; {int((true < 0).sum())} are "
            "unlabeled. Use a fully labeled data set (e.g. a built-in) with labels_per_class"
        )
    new_id = np.full(C, UNLABELED, dtype=np.int64)
    new_id[known] = np.arange(len(known))
    is_mis = np.isin(true, mis)

    if labels_per_class is not None or label_fraction is not None:
        y_known = np.where(is_mis, UNLABELED, true)
        lab = select_labeled(y_known, labels_per_class, label_fraction, seed, data.classes)
    else:
        lab = np.flatnonzero((data.y >= 0) & ~is_mis)
    rest_known = np.setdiff1d(np.flatnonzero(~is_mis), lab)
    rest_mis = np.flatnonzero(is_mis)
    if pool_size is None:
        pool_size = min(len(rest_known), len(rest_mis))
    n_mis = int(round(fraction * pool_size))
    n_known = pool_size - n_mis
    if pool_size < 0 or n_mis > len(rest_mis) or n_known > len(rest_known):
        raise DataError(
            f"an unlabeled pool of {pool_size} with {n_mis} mismatch examples needs {n_mis} of classes "
            f"{mis} (have {len(rest_mis)}) and {n_known} unlabeled of the known classes (have "
            f"{len(rest_known)}); lower data.mismatch_pool_size"
        )
    rng = np.random.default_rng(stream(seed, "pool"))  # independent of the labeled draw
    pool = np.concatenate(
        [rng.choice(rest_known, n_known, replace=False), rng.choice(rest_mis, n_mis, replace=False)]
    )
    keep = np.sort(np.concatenate([lab, pool]))
    y = np.full(len(keep), UNLABELED, dtype=np.int64)
    is_lab = np.isin(keep, lab)
    y[is_lab] = new_id[true[keep[is_lab]]]
    X_test, y_test, X_unknown = data.X_test, data.y_test, None
    if X_test is not None and y_test is not None:
        t = np.isin(y_test, known)
        X_unknown = X_test[~t] if (~t).any() else None
        X_test, y_test = X_test[t], new_id[y_test[t]]
    return replace(
        data,
        X=data.X[keep],
        y=y,
        y_true=new_id[true[keep]],
        classes=[data.classes[c] for c in known],
        X_test=X_test,
        y_test=y_test,
        X_test_unknown=X_unknown,
    )
