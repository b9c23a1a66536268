"""Query strategies against hand-built cases, naive references, and a contract over the registry."""

from __future__ import annotations

import numpy as np
import pytest

from semisup.active import (
    STRATEGIES,
    MissingInputError,
    bald_scores,
    diverse_top,
    entropy_scores,
    kcenter_greedy,
    least_confidence_scores,
    margin_scores,
    query,
    score,
    typicality_scores,
)
from semisup.active.scores import distance_to_set
from semisup.registry import UnknownNameError


def _inputs(N: int = 40, C: int = 3, T: int = 4, D: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(T, N, C))
    mc = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return {"proba": mc.mean(0), "mc_proba": mc, "embeddings": rng.normal(size=(N, D))}


# ---------------------------------------------------------------- uncertainty scores, by hand
def test_margin_picks_closest_top_two():
    proba = np.array([[0.6, 0.3, 0.1], [0.4, 0.38, 0.22], [0.5, 0.1, 0.4], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(margin_scores(proba), [1 - 0.3, 1 - 0.02, 1 - 0.1, 0.0])
    assert query("margin", 1, proba=proba).tolist() == [1]
    assert query("margin", 4, proba=proba).tolist() == [1, 2, 0, 3]


def test_least_confidence_values():
    proba = np.array([[0.6, 0.4], [0.9, 0.1], [0.5, 0.5]])
    np.testing.assert_allclose(least_confidence_scores(proba), [0.4, 0.1, 0.5])
    assert query("least_confidence", 2, proba=proba).tolist() == [2, 0]


def test_entropy_max_for_uniform_and_zero_for_one_hot():
    C = 4
    proba = np.array([[0.25] * 4, [1, 0, 0, 0], [0.5, 0.5, 0, 0]])
    np.testing.assert_allclose(entropy_scores(proba), [np.log(C), 0.0, np.log(2)], atol=1e-12)
    rng = np.random.default_rng(0)
    random_rows = rng.dirichlet(np.ones(C), size=200)
    assert entropy_scores(random_rows).max() < np.log(C)
    assert query("entropy", 1, proba=proba).tolist() == [0]


def test_bald_zero_when_passes_agree_and_hand_value_when_they_disagree():
    agree = np.tile(np.array([[0.7, 0.3], [0.2, 0.8]]), (5, 1, 1))  # T=5 identical passes
    np.testing.assert_allclose(bald_scores(agree), [0.0, 0.0], atol=1e-12)
    disagree = np.array([[[0.8, 0.2], [1.0, 0.0]], [[0.2, 0.8], [0.0, 1.0]]])  # (T=2, N=2, C=2)
    h = -(0.8 * np.log(0.8) + 0.2 * np.log(0.2))  # entropy of each pass of item 0
    np.testing.assert_allclose(bald_scores(disagree), [np.log(2) - h, np.log(2)], atol=1e-12)
    assert np.log(2) - h == pytest.approx(0.19274, abs=1e-5)
    mc = np.concatenate([agree[:2], disagree], axis=1)  # items 0,1 agree, 2,3 disagree
    assert query("bald", 2, mc_proba=mc).tolist() == [3, 2]


# ---------------------------------------------------------------- core-set and cold start
def _naive_kcenter(x: np.ndarray, labeled: list[int], n: int) -> list[int]:
    """O(n N^2) reference: recompute every pool point's distance to every center each step."""
    centers, chosen = list(labeled), []
    for _ in range(n):
        best, best_d = -1, -1.0
        for i in range(len(x)):
            if i in centers:
                continue
            d = min(np.linalg.norm(x[i] - x[c]) for c in centers)
            if d > best_d:
                best, best_d = i, d
        centers.append(best)
        chosen.append(best)
    return chosen


def test_coreset_picks_farthest_point_first():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [0.0, 3.0], [10.0, 10.0]])
    labeled = np.array([True, False, False, False, False])
    assert query("coreset", 1, embeddings=x, labeled_mask=labeled).tolist() == [4]
    # after (10, 10), the farthest from {(0,0), (10,10)} is (5,0) (distance 5) over (0,3) (distance 3)
    assert query("coreset", 3, embeddings=x, labeled_mask=labeled).tolist() == [4, 2, 3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coreset_matches_naive_reference(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 3))
    labeled_idx = [3, 17, 40]
    mask = np.zeros(60, dtype=bool)
    mask[labeled_idx] = True
    got = query("coreset", 10, embeddings=x, labeled_mask=mask)
    assert got.tolist() == _naive_kcenter(x, labeled_idx, 10)


def test_distance_to_set_matches_brute_force():
    rng = np.random.default_rng(0)
    x, c = rng.normal(size=(30, 4)), rng.normal(size=(7, 4))
    ref = np.linalg.norm(x[:, None] - c[None], axis=2).min(1)
    np.testing.assert_allclose(distance_to_set(x, c), ref, atol=1e-10)
    assert np.isinf(distance_to_set(x, np.zeros((0, 4)))).all()


def _blobs(n_per: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [20, 0], [0, 20], [20, 20], [40, 40]], dtype=float)
    x = np.concatenate([c + rng.normal(scale=0.5, size=(n_per, 2)) for c in centers])
    return x, np.repeat(np.arange(len(centers)), n_per)


@pytest.mark.parametrize("name", ["typiclust", "kmeans"])
def test_cold_start_picks_one_per_well_separated_cluster(name):
    x, cluster = _blobs()
    picked = query(name, 5, embeddings=x, rng=0)
    assert sorted(cluster[picked].tolist()) == [0, 1, 2, 3, 4]
    # the picks are central: within one within-cluster standard deviation of their cluster's mean
    for i in picked:
        assert np.linalg.norm(x[i] - x[cluster == cluster[i]].mean(0)) < 0.6


def test_typiclust_skips_clusters_that_already_have_a_label():
    x, cluster = _blobs()
    mask = np.isin(np.arange(len(x)), [0, 31])  # one labeled item in clusters 0 and 1
    picked = query("typiclust", 3, embeddings=x, labeled_mask=mask, rng=0)
    assert sorted(cluster[picked].tolist()) == [2, 3, 4]


def test_typicality_is_higher_in_dense_regions():
    x = np.array([[0.0], [0.1], [0.2], [0.3], [5.0]])
    t = typicality_scores(x, k=2)
    assert t.argmin() == 4 and t[1] == pytest.approx(1 / 0.1)


# ---------------------------------------------------------------- diversity trade-off
def test_diverse_top_factor_one_is_top_n_and_larger_spreads_the_batch():
    # items 0-3 are near-duplicates with the top scores; item 4 is far away with a lower score
    x = np.array([[0.0, 0], [0.01, 0], [0.02, 0], [0.03, 0], [9.0, 9], [9.1, 9]])
    s = np.array([0.9, 0.89, 0.88, 0.87, 0.5, 0.1])
    assert diverse_top(s, x, 2, candidate_factor=1).tolist() == [0, 1]
    assert diverse_top(s, x, 2, candidate_factor=2.5).tolist() == [0, 4]
    assert sorted(diverse_top(s, x, 2, candidate_factor=2.5, method="cluster", rng=0).tolist()) == [0, 4]
    proba = np.column_stack([1 - s / 2, s / 2])  # margin ranks like s
    got = query("margin", 2, proba=proba, embeddings=x, candidate_factor=2.5)
    assert got.tolist() == [0, 4]


def test_kcenter_greedy_without_centers_starts_at_first():
    x = np.array([[0.0], [1.0], [10.0], [4.0]])
    assert kcenter_greedy(x, np.arange(4), 3, first=1).tolist() == [1, 2, 3]


# ---------------------------------------------------------------- contract over the registry
@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("n", [0, 7, 35, 100])
def test_every_strategy_returns_distinct_unlabeled_indices(name, n):
    inp = _inputs()
    mask = np.zeros(40, dtype=bool)
    mask[[1, 5, 9, 30, 31]] = True
    got = query(name, n, labeled_mask=mask, rng=3, **inp)
    assert got.dtype == np.int64
    assert len(got) == min(n, 35)
    assert len(set(got.tolist())) == len(got)
    assert not mask[got].any()
    again = query(name, n, labeled_mask=mask, rng=np.random.default_rng(3), **inp)
    assert got.tolist() == again.tolist()
    s = score(name, labeled_mask=mask, rng=3, **inp)
    assert s.shape == (40,)


def test_random_differs_by_seed_and_needs_n():
    a = query("random", 10, n_items=100, rng=0)
    b = query("random", 10, n_items=100, rng=1)
    assert a.tolist() != b.tolist()
    with pytest.raises(MissingInputError, match="n_items"):
        query("random", 3)


# ---------------------------------------------------------------- clear errors
def test_errors_name_the_missing_input_and_the_closest_strategy():
    inp = _inputs()
    with pytest.raises(MissingInputError, match=r"'bald' needs mc_proba \(T, N, C\); given: proba"):
        query("bald", 3, proba=inp["proba"])
    with pytest.raises(MissingInputError, match="embeddings"):
        score("coreset", proba=inp["proba"])
    with pytest.raises(MissingInputError, match="needs embeddings"):
        query("entropy", 3, proba=inp["proba"], candidate_factor=3)
    with pytest.raises(UnknownNameError, match="'margin'"):
        query("margni", 3, proba=inp["proba"])
    with pytest.raises(ValueError, match="disagree on the number of items"):
        query("margin", 3, proba=inp["proba"], labeled_mask=np.zeros(39, dtype=bool))
    with pytest.raises(ValueError, match="sum to 1"):
        query("margin", 3, proba=np.array([[2.0, 1.0]]))
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        query("margin", -1, proba=inp["proba"])
    with pytest.raises(ValueError, match="bool array"):
        query("margin", 1, proba=inp["proba"], labeled_mask=np.zeros(40))
    with pytest.raises(ValueError, match="uncertainty strategies only"):
        query("coreset", 2, embeddings=inp["embeddings"], candidate_factor=2)
