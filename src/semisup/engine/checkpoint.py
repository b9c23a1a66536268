"""Saving and restoring the whole run state: model, EMA, optimizer, algorithm state, schedule, step.

Checkpoints are written to a temporary file and renamed, so a run killed mid-save keeps its previous
checkpoint intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from semisup.engine.fabric import Fabric

CKPT_NAME = "last.ckpt"


def save_checkpoint(fabric: Fabric, folder: Path, state: dict[str, Any]) -> Path:
    path = folder / CKPT_NAME
    tmp = folder / (CKPT_NAME + ".tmp")
    fabric.save(tmp, state)
    fabric.barrier()
    if fabric.global_rank == 0:
        tmp.replace(path)
    fabric.barrier()
    return path


def load_checkpoint(fabric: Fabric, path: Path, state: dict[str, Any]) -> dict[str, Any]:
    """Restore the modules/optimizers in ``state`` in place; return the other saved entries."""
    return fabric.load(path, state)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint without Fabric (for prediction): plain tensors and Python values only."""
    return torch.load(path, map_location="cpu", weights_only=True)
