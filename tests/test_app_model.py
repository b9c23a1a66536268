"""The app's queue with every strategy of semisup.active, and the bootstrap committee that gives BALD."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import digits_subset, make_image_npz

from semisup.active import STRATEGIES, query, score
from semisup.app import Suggester, load_items
from semisup.app.model import bootstrap_labels, informativeness, queue_order


@pytest.fixture(scope="module")
def outputs():
    """Model outputs over 40 items of 3 classes (no ties), embeddings, and 6 labeled items."""
    rng = np.random.default_rng(7)
    mc = rng.dirichlet(np.ones(3), size=(5, 40))  # (T, N, C)
    labeled = np.zeros(40, dtype=bool)
    labeled[[0, 3, 11, 20, 21, 39]] = True
    return {"proba": mc.mean(0), "mc_proba": mc, "embeddings": rng.normal(size=(40, 4))}, labeled


def naive_order(name: str, inputs: dict, labeled: np.ndarray, seed: int, head: int) -> list[int]:
    """What semisup.active asks for, written out: a batch strategy's query for the first ``head`` items,
    then every other unlabeled item by descending score, ties by the seeded permutation's rank."""
    n = len(labeled)
    s = score(name, **inputs, labeled_mask=labeled, rng=seed)
    rank = np.random.default_rng(seed).permutation(n)
    first = []
    if STRATEGIES[name].select is not None:
        first = query(name, head, **inputs, labeled_mask=labeled, rng=seed).tolist()
    rest = sorted((i for i in range(n) if not labeled[i] and i not in first), key=lambda i: (-s[i], rank[i]))
    return first + rest


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_queue_follows_semisup_active_for_every_strategy(outputs, name):
    inputs, labeled = outputs
    for seed, head in [(0, 10), (3, 40)]:  # 40: more than the 34 unlabeled items
        order = queue_order(
            inputs["proba"],
            40,
            name,
            seed,
            inputs["embeddings"],
            labeled,
            mc_proba=inputs["mc_proba"],
            head=head,
        )
        assert order.tolist() == naive_order(name, inputs, labeled, seed, head)
        assert sorted(order.tolist()) == np.flatnonzero(~labeled).tolist()  # each unlabeled item once
    # the first batch is exactly the batch the strategy queries (uncertainty: top-n, no ties here)
    first = query(name, 8, **inputs, labeled_mask=labeled, rng=1)
    order = queue_order(inputs["proba"], 40, name, 1, inputs["embeddings"], labeled, inputs["mc_proba"], 8)
    assert order[:8].tolist() == first.tolist()


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_before_a_model_labeled_items_are_never_queued(outputs, name):
    inputs, labeled = outputs
    order = queue_order(None, 40, name, 2, inputs["embeddings"], labeled, head=5)
    assert sorted(order.tolist()) == np.flatnonzero(~labeled).tolist()
    if set(STRATEGIES[name].needs) & {"proba", "mc_proba"}:  # no model yet: the seeded random order
        perm = np.random.default_rng(2).permutation(40)
        assert order.tolist() == perm[~labeled[perm]].tolist()
    else:  # random and the embedding strategies need no model: a cold start from the first item
        emb = inputs["embeddings"]
        assert order[:5].tolist() == query(name, 5, embeddings=emb, labeled_mask=labeled, rng=2).tolist()


def test_informativeness_of_bald_is_the_committee_disagreement():
    agree = np.tile([[[0.8, 0.2]]], (4, 1, 1))  # four members, one item, all say 0.8
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 0.0]], [[0.0, 1.0]]])  # half say each class
    mc = np.concatenate([agree, split], axis=1)  # (4, 2, 2)
    s = informativeness(mc.mean(0), "bald", mc_proba=mc)
    np.testing.assert_allclose(s, [0.0, np.log(2)], atol=1e-9)  # mutual information, nats


def test_bootstrap_labels_keep_every_class_and_only_labeled_items():
    y = np.array([0, 0, 0, 1, 1, -1, -1, 2, -1, 2])
    rng = np.random.default_rng(0)
    draws = [bootstrap_labels(y, rng) for _ in range(50)]
    for b in draws:
        kept = b != -1
        assert (b[kept] == y[kept]).all() and (y[kept] != -1).all()  # labels of labeled items only
        assert set(b[kept].tolist()) == {0, 1, 2}  # stratified: no class lost
    assert len({tuple(b) for b in draws}) > 1  # resamples differ


def test_suggester_committee_gives_bald_a_queue(tmp_path):
    items = load_items(str(make_image_npz(tmp_path)))
    _, y = digits_subset()
    human = np.full(30, -1)
    human[:9] = y[:9]  # three labels of each of the three classes
    s = Suggester(items, lambda: human, mc_samples=6, seed=1)
    st = s.fit_now()
    assert st.mc_proba.shape == (6, 30, 3) and st.proba.shape == (30, 3)
    np.testing.assert_allclose(st.mc_proba.sum(-1), 1.0, atol=1e-9)
    assert np.ptp(st.mc_proba, axis=0).max() > 0.01  # members disagree somewhere
    again = Suggester(items, lambda: human, mc_samples=6, seed=1).fit_now()
    np.testing.assert_array_equal(st.mc_proba, again.mc_proba)  # seeded
    order = queue_order(st.proba, 30, "bald", 0, items.features, human >= 0, st.mc_proba)
    assert sorted(order.tolist()) == list(range(9, 30))
    mi = informativeness(st.proba, "bald", mc_proba=st.mc_proba)
    assert np.all(np.diff(mi[order]) <= 1e-12)  # most disagreement first
    assert Suggester(items, lambda: human).fit_now().mc_proba is None  # no committee unless asked
    with pytest.raises(ValueError, match="mc_samples must be 0"):
        Suggester(items, lambda: human, mc_samples=1)
