"""A run's random streams: independent children of one ``np.random.SeedSequence(seed)``.

Deriving streams as ``seed``, ``seed + 1``, ... correlates runs: seed s's second stream is seed s+1's
first, so neighbouring seeds of a benchmark grid share batches. A ``SeedSequence`` hashes its entropy and
spawn key together, so every (seed, stream, key) gives a statistically independent stream.

Streams (child index = position in ``STREAMS``, fixed forever: changing it changes every seeded run):

- ``labels``: which examples keep their labels (``select_labeled``).
- ``test_split``: the held-out share of ``data.test_fraction``.
- ``pool``: the unlabeled pool drawn under class mismatch.
- ``labeled_batches`` / ``unlabeled_batches``: the index streams, keyed further by epoch.
- ``augment``: augmentation and dropout randomness, keyed further by (step, rank).
"""

from __future__ import annotations

import numpy as np

STREAMS = ("labels", "test_split", "pool", "labeled_batches", "unlabeled_batches", "augment")


def stream(seed: int | np.random.SeedSequence, name: str, *key: int) -> np.random.SeedSequence:
    """The child ``name`` of ``SeedSequence(seed)``, split further by ``key`` (e.g. epoch, or step and
    rank): the same as ``SeedSequence(seed).spawn(...)[i]`` and its own children, without the spawning.

    Raises:
        ValueError: ``name`` is not one of ``STREAMS``.
    """
    if name not in STREAMS:
        raise ValueError(f"unknown random stream {name!r}: one of {', '.join(STREAMS)}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, STREAMS.index(name), *key))


def child(seq: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """``seq``'s child at ``key`` (e.g. one epoch of a batch stream)."""
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *key))


def torch_seed(seq: np.random.SeedSequence) -> int:
    """A 63-bit integer for ``torch.manual_seed`` / ``Generator.manual_seed`` drawn from ``seq``."""
    return int(seq.generate_state(1, np.uint64)[0]) >> 1
