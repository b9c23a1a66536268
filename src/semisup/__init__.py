"""semisup: semi-supervised learning from a few labels and many unlabeled examples.

>>> import semisup
>>> cfg = semisup.RunConfig.from_dict({"algorithm": "fixmatch", "data": {"name": "digits"}})
>>> result = semisup.fit(cfg, "runs/digits-fixmatch")          # doctest: +SKIP
>>> semisup.load("runs/digits-fixmatch").predict(X)            # doctest: +SKIP
"""

from semisup import algorithms, nets  # noqa: F401  (registers algorithms and nets)
from semisup.algorithms.base import Algorithm, StepContext
from semisup.auto import auto_fit
from semisup.config import ConfigError, RunConfig
from semisup.data import builtin  # noqa: F401  (registers built-in data sets)
from semisup.data.batch import Batch
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.load import load_dataset
from semisup.data.split import select_labeled
from semisup.engine.callbacks import Callback
from semisup.engine.trainer import RunResult, fit, resume
from semisup.predictor import Predictor, load
from semisup.registry import ALGORITHMS, DATASETS, NETS

__version__ = "0.1.0"

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "Batch",
    "Callback",
    "ConfigError",
    "DATASETS",
    "DataError",
    "NETS",
    "Predictor",
    "auto_fit",
    "RunConfig",
    "RunResult",
    "SSLDataset",
    "StepContext",
    "fit",
    "load",
    "load_dataset",
    "resume",
    "select_labeled",
]
