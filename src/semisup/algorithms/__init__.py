"""Algorithms, registered by name in ``semisup.registry.ALGORITHMS``."""

from semisup.algorithms.base import Algorithm, StepContext, forward_cat

__all__ = ["Algorithm", "StepContext", "forward_cat"]
