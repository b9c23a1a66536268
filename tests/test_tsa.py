import math

import pytest

from semisup.losses import TSA_SCHEDULES, tsa_threshold


@pytest.mark.parametrize(
    "schedule, alphas",
    [
        ("linear", (0.0, 0.5, 1.0)),
        ("log", (0.0, 1 - math.exp(-2.5), 1 - math.exp(-5))),
        ("exp", (math.exp(-5), math.exp(-2.5), 1.0)),
    ],
)
def test_tsa_threshold_hand_values(schedule, alphas):
    # eta_t = alpha_t * (1 - 1/K) + 1/K with K = 4 classes, at t = 0, 0.5, 1
    for t, alpha in zip((0.0, 0.5, 1.0), alphas, strict=True):
        assert math.isclose(tsa_threshold(schedule, t, 4), alpha * 0.75 + 0.25)


def test_tsa_threshold_known_numbers_and_order():
    assert tsa_threshold("linear", 0.0, 10) == pytest.approx(0.1)
    assert tsa_threshold("linear", 0.5, 10) == pytest.approx(0.55)
    assert tsa_threshold("log", 0.5, 2) == pytest.approx(0.5 + 0.5 * (1 - math.exp(-2.5)))  # 0.95896
    assert tsa_threshold("exp", 0.5, 2) == pytest.approx(0.5 + 0.5 * math.exp(-2.5))  # 0.54104
    # log releases labels earliest, exp latest; progress is clipped to [0, 1]
    for t in (0.1, 0.5, 0.9):
        assert tsa_threshold("exp", t, 3) < tsa_threshold("linear", t, 3) < tsa_threshold("log", t, 3)
    assert tsa_threshold("linear", 1.5, 3) == 1.0 and tsa_threshold("linear", -1, 3) == pytest.approx(1 / 3)
    assert set(TSA_SCHEDULES) == {"linear", "log", "exp"}


def test_tsa_unknown_schedule():
    with pytest.raises(ValueError, match="unknown TSA schedule 'cosine'"):
        tsa_threshold("cosine", 0.5, 3)
