"""Schedules for the weight of the unsupervised loss, as functions of training progress in [0, 1]."""

from __future__ import annotations

import math


def sigmoid_rampup(progress: float, length: float) -> float:
    """exp(-5 (1 - t)^2), t = progress/length clipped to [0, 1] (Laine & Aila 2017); 1 after ``length``."""
    if length <= 0:
        return 1.0
    t = min(max(progress / length, 0.0), 1.0)
    return math.exp(-5.0 * (1.0 - t) ** 2)


def linear_ramp(progress: float, start: float, end: float) -> float:
    """0 before ``start``, 1 after ``end``, linear between (Lee 2013's α(t) shape)."""
    if progress <= start:
        return 0.0
    if progress >= end or end <= start:
        return 1.0
    return (progress - start) / (end - start)
