"""semisup: semi-supervised learning from a few labels and many unlabeled examples.

>>> import semisup
>>> cfg = semisup.RunConfig.from_dict({"algorithm": "fixmatch", "data": {"name": "digits"}})
>>> result = semisup.fit(cfg, "runs/digits-fixmatch")          # doctest: +SKIP
>>> semisup.load("runs/digits-fixmatch").predict(X)            # doctest: +SKIP

The public names are imported on first use (``__getattr__``): ``import semisup`` stays light, so the
command line answers ``--help`` without loading torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "ALGORITHMS": "semisup.registry",
    "Algorithm": "semisup.algorithms.base",
    "Batch": "semisup.data.batch",
    "Callback": "semisup.engine.callbacks",
    "CheckResult": "semisup.check",
    "ConfigError": "semisup.config",
    "DATASETS": "semisup.registry",
    "DataError": "semisup.data.dataset",
    "NETS": "semisup.registry",
    "Predictor": "semisup.predictor",
    "RunConfig": "semisup.config",
    "RunResult": "semisup.engine.trainer",
    "SSLCheckWarning": "semisup.check",
    "SSLDataset": "semisup.data.dataset",
    "StepContext": "semisup.algorithms.base",
    "auto_fit": "semisup.auto",
    "fit": "semisup.run",
    "load": "semisup.predictor",
    "load_dataset": "semisup.data.load",
    "resume": "semisup.run",
    "select_labeled": "semisup.data.split",
    "ssl_check": "semisup.check",
}

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "Batch",
    "Callback",
    "CheckResult",
    "ConfigError",
    "DATASETS",
    "DataError",
    "NETS",
    "Predictor",
    "RunConfig",
    "RunResult",
    "SSLCheckWarning",
    "SSLDataset",
    "StepContext",
    "auto_fit",
    "fit",
    "load",
    "load_dataset",
    "resume",
    "select_labeled",
    "ssl_check",
]  # = sorted(_EXPORTS), spelled out for tools that read __all__


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:  # subpackages, as `import semisup` used to import them: semisup.algorithms, semisup.nets, ...
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from semisup.algorithms.base import Algorithm, StepContext
    from semisup.auto import auto_fit
    from semisup.check import CheckResult, SSLCheckWarning, ssl_check
    from semisup.config import ConfigError, RunConfig
    from semisup.data.batch import Batch
    from semisup.data.dataset import DataError, SSLDataset
    from semisup.data.load import load_dataset
    from semisup.data.split import select_labeled
    from semisup.engine.callbacks import Callback
    from semisup.engine.trainer import RunResult
    from semisup.predictor import Predictor, load
    from semisup.registry import ALGORITHMS, DATASETS, NETS
    from semisup.run import fit, resume
