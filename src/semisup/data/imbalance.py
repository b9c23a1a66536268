"""Long-tailed data: labeled and unlabeled class counts that decay geometrically from a head class.

The protocol of DARP (Kim et al. 2020, https://arxiv.org/abs/2007.08844) and ACR (Wei & Gan 2023,
https://arxiv.org/abs/2306.09200): with C classes in id order (class 0 is the head), the labeled set has

    N_k = floor(N_1 · γ_l^(−k/(C−1)))        k = 0..C−1, so N_0 = N_1 and N_{C−1} = floor(N_1 / γ_l)

examples of class k, and the unlabeled pool M_k = floor(M_1 · γ_u^(−k/(C−1))) ("consistent"), the same
profile in reverse order ("reversed": M_k = M_{C−1−k}, the labeled tail is the unlabeled head), or M_1
for every class ("uniform", γ_u = 1). Here it is a split of any fully labeled ``SSLDataset``: the labeled
examples and the pool are drawn per class without replacement, seeded; the rest of the training examples
are dropped, and the test split is kept as it is (balanced for the built-ins), so accuracy and balanced
accuracy are measured on every class alike.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from semisup.data.dataset import UNLABELED, DataError, SSLDataset
from semisup.seeds import stream

DISTRIBUTIONS = ("consistent", "uniform", "reversed")


def long_tailed_counts(head: int, ratio: float, num_classes: int) -> np.ndarray:
    """(C,) int64 floor(head · ratio^(−k/(C−1))), k = 0..C−1: ``head`` first, floor(head / ratio) last.

    Raises:
        ValueError: head < 0, ratio < 1 or C < 2.
    """
    if head < 0 or ratio < 1 or num_classes < 2:
        raise ValueError(f"need head >= 0, ratio >= 1 and >= 2 classes, got {head}, {ratio}, {num_classes}")
    k = np.arange(num_classes)
    # The small epsilon keeps exact products exact: 100 · 10^(−1) is 9.999999999999998 in floating point.
    return np.floor(head * float(ratio) ** (-k / (num_classes - 1)) + 1e-9).astype(np.int64)


def unlabeled_counts(head: int, ratio: float, distribution: str, num_classes: int) -> np.ndarray:
    """(C,) unlabeled counts M_k of the ``distribution`` (``DISTRIBUTIONS``) with head count ``head``."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}, got {distribution!r}")
    if distribution == "uniform":
        return np.full(num_classes, head, dtype=np.int64)
    counts = long_tailed_counts(head, ratio, num_classes)
    return counts[::-1].copy() if distribution == "reversed" else counts


def largest_unlabeled_head(available: np.ndarray, ratio: float, distribution: str) -> int:
    """The largest M_1 whose counts fit in ``available`` (C,) examples per class (0 if none does)."""
    C = len(available)
    profile = unlabeled_counts(10**6, ratio, distribution, C) / 10**6  # M_k / M_1 per class
    m1 = int(np.min(np.floor(available / np.maximum(profile, 1e-12))))
    while m1 > 0 and np.any(unlabeled_counts(m1, ratio, distribution, C) > available):
        m1 -= 1  # floor(M_1 · r_k) can exceed floor(available_k / r_k) · r_k by rounding: step down
    return max(m1, 0)


def long_tailed(
    data: SSLDataset,
    labeled_head: int,
    labeled_ratio: float,
    unlabeled_ratio: float | None = None,
    distribution: str = "consistent",
    unlabeled_head: int | None = None,
    seed: int = 0,
) -> SSLDataset:
    """The data set with a long-tailed labeled set and an unlabeled pool of the chosen distribution.

    Args:
        data: a data set whose training labels are all known (e.g. a built-in).
        labeled_head: N_1, labeled examples of class 0 (``data.labels_per_class``).
        labeled_ratio: γ_l = N_1 / N_{C−1} >= 1.
        unlabeled_ratio: γ_u >= 1 for "consistent" and "reversed" (None: γ_l); must be 1 or None for
            "uniform".
        distribution: "consistent" | "uniform" | "reversed".
        unlabeled_head: M_1; None takes the largest pool the remaining examples of every class can fill.
        seed: the same seed gives the same labeled set (stream ``labels``) and pool (stream ``pool``).
    Returns:
        A new ``SSLDataset`` with exactly N_k labeled and M_k unlabeled examples of class k (``y_true``
        holds the pool's true classes) and the original test split.
    Raises:
        DataError: labels unknown, bad ratios, a class with too few examples, or a class left unlabeled.
    """
    C = data.num_classes
    true = data.y if data.y_true is None else np.where(data.y_true >= 0, data.y_true, data.y)
    if (true < 0).any():
        raise DataError(
            f"a long-tailed split needs the true class of every training example; {int((true < 0).sum())} "
            "are unlabeled. Use a fully labeled data set (e.g. a built-in)"
        )
    if distribution not in DISTRIBUTIONS:
        allowed = ", ".join(DISTRIBUTIONS)
        raise DataError(f"data.imbalance.unlabeled={distribution!r} is not allowed: choose one of {allowed}")
    if labeled_ratio < 1:
        raise DataError(f"data.imbalance.labeled_ratio must be >= 1 (head / tail), got {labeled_ratio}")
    if distribution == "uniform":
        if unlabeled_ratio not in (None, 1, 1.0):
            raise DataError(
                f"data.imbalance.unlabeled=uniform means γ_u = 1, got unlabeled_ratio={unlabeled_ratio}: "
                "drop unlabeled_ratio or choose consistent/reversed"
            )
        unlabeled_ratio = 1.0
    gamma_u = labeled_ratio if unlabeled_ratio is None else unlabeled_ratio
    if gamma_u < 1:
        raise DataError(f"data.imbalance.unlabeled_ratio must be >= 1 (head / tail), got {gamma_u}")
    n = long_tailed_counts(labeled_head, labeled_ratio, C)
    if n[-1] < 1:
        raise DataError(
            f"labels_per_class={labeled_head} (the head class) with labeled_ratio={labeled_ratio} leaves the "
            f"tail class {n[-1]} labels: raise labels_per_class to at "
            f"least {int(np.ceil(labeled_ratio))} or lower labeled_ratio"
        )
    available = np.bincount(true, minlength=C) - n
    short = np.flatnonzero(available < 0)
    if short.size:
        c = int(short[0])
        raise DataError(
            f"class {data.classes[c]!r} has {available[c] + n[c]} examples but the long-tailed split labels "
            f"{n[c]} of them: lower labels_per_class"
        )
    if unlabeled_head is None:
        unlabeled_head = largest_unlabeled_head(available, gamma_u, distribution)
    m = unlabeled_counts(unlabeled_head, gamma_u, distribution, C)
    over = np.flatnonzero(m > available)
    if over.size:
        c = int(over[0])
        raise DataError(
            f"class {data.classes[c]!r} has {available[c]} examples left after labeling but the "
            f"{distribution} pool needs {m[c]}: lower data.imbalance.unlabeled_head to at most "
            f"{largest_unlabeled_head(available, gamma_u, distribution)}"
        )
    lab_rng = np.random.default_rng(stream(seed, "labels"))
    pool_rng = np.random.default_rng(stream(seed, "pool"))  # independent of the labeled draw
    lab, pool = [], []
    for c in range(C):
        idx = np.flatnonzero(true == c)
        picked = lab_rng.choice(idx, size=int(n[c]), replace=False)
        lab.append(picked)
        pool.append(pool_rng.choice(np.setdiff1d(idx, picked), size=int(m[c]), replace=False))
    lab_idx, pool_idx = np.concatenate(lab), np.concatenate(pool)
    keep = np.sort(np.concatenate([lab_idx, pool_idx]))
    y = np.where(np.isin(keep, lab_idx), true[keep], UNLABELED).astype(np.int64)
    return replace(data, X=data.X[keep], y=y, y_true=true[keep].astype(np.int64))
