"""Algorithms, registered by name in ``semisup.registry.ALGORITHMS``: one module each.

Every module in this package is imported here, so adding an algorithm is adding its module: its class is
re-exported under its own name (``semisup.algorithms.FixMatch``), read from the registry, never from a
list kept by hand.
"""

import importlib
import pkgutil

from semisup.algorithms.base import Algorithm as Algorithm
from semisup.algorithms.base import StepContext as StepContext
from semisup.algorithms.base import forward_cat as forward_cat
from semisup.registry import ALGORITHMS

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")

# Every registered class under its class name. The registry is already being filled by this very import,
# so reading it here imports nothing again.
_CLASSES = {cls.__name__: cls for cls in map(ALGORITHMS.get, ALGORITHMS.names())}
globals().update(_CLASSES)

__all__ = sorted(["Algorithm", "StepContext", "forward_cat", *_CLASSES])
