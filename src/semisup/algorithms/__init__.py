"""Algorithms, registered by name in ``semisup.registry.ALGORITHMS``: one module each.

Every module in this package is imported here, so adding an algorithm is adding its module.
"""

import importlib
import pkgutil

from semisup.algorithms.base import Algorithm, StepContext, forward_cat

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")

from semisup.algorithms.fixmatch import FixMatch  # noqa: E402
from semisup.algorithms.pi_model import PiModel  # noqa: E402
from semisup.algorithms.pseudo_label import PseudoLabel  # noqa: E402
from semisup.algorithms.supervised import Supervised  # noqa: E402

__all__ = ["Algorithm", "FixMatch", "PiModel", "PseudoLabel", "StepContext", "Supervised", "forward_cat"]
