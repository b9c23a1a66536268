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
from semisup.algorithms.flexmatch import FlexMatch  # noqa: E402
from semisup.algorithms.freematch import FreeMatch  # noqa: E402
from semisup.algorithms.mean_teacher import MeanTeacher  # noqa: E402
from semisup.algorithms.mixmatch import MixMatch  # noqa: E402
from semisup.algorithms.pi_model import PiModel  # noqa: E402
from semisup.algorithms.pseudo_label import PseudoLabel  # noqa: E402
from semisup.algorithms.softmatch import SoftMatch  # noqa: E402
from semisup.algorithms.supervised import Supervised  # noqa: E402
from semisup.algorithms.temporal_ensembling import TemporalEnsembling  # noqa: E402
from semisup.algorithms.uda import UDA  # noqa: E402
from semisup.algorithms.vat import VAT  # noqa: E402

__all__ = [
    "Algorithm",
    "FixMatch",
    "FlexMatch",
    "FreeMatch",
    "MeanTeacher",
    "MixMatch",
    "PiModel",
    "PseudoLabel",
    "SoftMatch",
    "StepContext",
    "Supervised",
    "TemporalEnsembling",
    "UDA",
    "VAT",
    "forward_cat",
]
