"""Algorithms, registered by name in ``semisup.registry.ALGORITHMS``. One module each."""

from semisup.algorithms import fixmatch, pi_model, pseudo_label, supervised  # noqa: F401  (registers)
from semisup.algorithms.base import Algorithm, StepContext, forward_cat
from semisup.algorithms.fixmatch import FixMatch
from semisup.algorithms.pi_model import PiModel
from semisup.algorithms.pseudo_label import PseudoLabel
from semisup.algorithms.supervised import Supervised

__all__ = ["Algorithm", "FixMatch", "PiModel", "PseudoLabel", "StepContext", "Supervised", "forward_cat"]
