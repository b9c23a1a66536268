"""Training-signal annealing (UDA): a threshold η_t on the labeled examples' correct-class probability.

Xie et al. 2020, "Unsupervised Data Augmentation for Consistency Training", section 3.3.
https://arxiv.org/abs/1904.12848
"""

from __future__ import annotations

import math

TSA_SCHEDULES = ("linear", "log", "exp")


def tsa_threshold(schedule: str, progress: float, num_classes: int) -> float:
    """η_t = α_t · (1 − 1/K) + 1/K, t = ``progress`` in [0, 1] (step / total steps), K = ``num_classes``.

    α_t is ``linear``: t; ``log``: 1 − exp(−5t) (releases the labels early); ``exp``: exp(5(t − 1))
    (releases them late). η_0 = 1/K (``exp``: slightly above) and η_1 = 1 (``log``: slightly below).
    A labeled example whose correct-class probability exceeds η_t is left out of the supervised loss.

    Raises:
        ValueError: for an unknown ``schedule``.

    Example:
        >>> tsa_threshold("linear", 0.5, 3)  # 0.5 * 2/3 + 1/3
        0.6666666666666667
    """
    t = min(max(progress, 0.0), 1.0)
    if schedule == "linear":
        alpha = t
    elif schedule == "log":
        alpha = 1.0 - math.exp(-5.0 * t)
    elif schedule == "exp":
        alpha = math.exp(5.0 * (t - 1.0))
    else:
        raise ValueError(f"unknown TSA schedule {schedule!r}; choose one of {', '.join(TSA_SCHEDULES)}")
    return alpha * (1.0 - 1.0 / num_classes) + 1.0 / num_classes
