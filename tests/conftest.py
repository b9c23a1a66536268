"""Shared tiny data for CPU tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semisup.algorithms  # noqa: F401  (registers)
import semisup.data.builtin  # noqa: F401
import semisup.nets  # noqa: F401
from semisup.data.dataset import SSLDataset

torch.set_num_threads(2)


def blobs(n: int = 120, d: int = 5, c: int = 3, labeled_per_class: int = 4, seed: int = 0) -> SSLDataset:
    """Well-separated Gaussian blobs, a few labels per class, a test split."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, size=(c, d))
    y = np.arange(n) % c
    X = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    yt = np.arange(60) % c
    Xt = (centers[yt] + rng.normal(size=(60, d))).astype(np.float32)
    y_partial = np.full(n, -1)
    for k in range(c):
        y_partial[np.flatnonzero(y == k)[:labeled_per_class]] = k
    return SSLDataset(
        X=X,
        y=y_partial.astype(np.int64),
        classes=[f"c{k}" for k in range(c)],
        kind="vector",
        X_test=Xt,
        y_test=yt.astype(np.int64),
        y_true=y.astype(np.int64),
        name="blobs",
    )


@pytest.fixture
def blob_data() -> SSLDataset:
    return blobs()
