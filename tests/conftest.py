"""Shared tiny data for CPU tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import semisup.algorithms  # noqa: F401  (registers)
import semisup.data.builtin  # noqa: F401
import semisup.nets  # noqa: F401
from semisup.data.dataset import SSLDataset

torch.set_num_threads(min(2, torch.get_num_threads()))  # OMP_NUM_THREADS=1 on a shared machine is kept


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


# A fixed weak/strong-view case for the FixMatch family's hand-computed tests: C classes, D features,
# B labeled, MU·B unlabeled; the strong view is the negated input so it differs clearly from the weak.
C, D, B, MU = 3, 6, 8, 2


def net_and_batch(seed: int = 0):
    from semisup.data.batch import Batch
    from semisup.nets.build import build_net

    torch.manual_seed(seed)
    model = build_net("mlp", (D,), C).eval()
    u = torch.randn(B * MU, D)
    views = (u + 0.1 * torch.randn_like(u), -u)
    batch = Batch(
        torch.randn(B, D), torch.arange(B) % C, views, torch.arange(B * MU), torch.arange(B * MU) % C
    )
    return model, batch


def weak_probs(model, batch):
    with torch.no_grad():
        return torch.softmax(model(batch.u_views[0]), -1)
