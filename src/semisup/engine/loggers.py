"""The run's metric loggers (``train.loggers``): Fabric ``Logger`` objects writing into the run folder.

``csv`` is ``metrics.csv`` (``semisup.engine.metrics.MetricsCSV``, what ``semisup plot`` and the
benchmarks read); ``tensorboard`` is Fabric's ``TensorBoardLogger`` writing ``tensorboard/``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from semisup.config import ConfigError
from semisup.engine.metrics import Logger, MetricsCSV

TENSORBOARD_DIR = "tensorboard"


def check_loggers(names: Sequence[str]) -> None:
    """Raise ``ConfigError`` before training when a requested logger's package is missing."""
    if "tensorboard" in names and not any(
        importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")
    ):
        raise ConfigError(
            "train.loggers has 'tensorboard' but the tensorboard package is not installed: "
            "pip install tensorboard, or log to CSV only (--set 'train.loggers=[csv]')"
        )


def build_loggers(names: Sequence[str], folder: Path, columns: Sequence[str], step: int) -> list[Logger]:
    """The loggers ``names`` asks for, writing into ``folder``; a run resumed at ``step`` > 0 continues
    TensorBoard's event files from there (events written after ``step`` by the stopped run are dropped)."""
    check_loggers(names)
    loggers: list[Logger] = []
    for name in names:
        if name == "csv":
            loggers.append(MetricsCSV(folder, columns))
        elif name == "tensorboard":
            try:
                from lightning_fabric.loggers import TensorBoardLogger
            except ImportError:  # machines that ship the full ``lightning`` package only
                from lightning.fabric.loggers import TensorBoardLogger
            purge = {"purge_step": step + 1} if step > 0 else {}
            loggers.append(TensorBoardLogger(folder, name=TENSORBOARD_DIR, version="", **purge))
        else:
            raise ConfigError(f"unknown logger {name!r} in train.loggers: csv or tensorboard")
    return loggers
