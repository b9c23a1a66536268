"""Saving and restoring the whole run state: model, EMA, optimizer, algorithm state, schedule, step,
fp16's GradScaler and where ``metrics.csv`` ended.

Checkpoints are written to a temporary file and renamed, so a run killed mid-save keeps its previous
checkpoint intact.
"""

from __future__ import annotations

import inspect
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
    """Restore the modules/optimizers in ``state`` in place; return the other saved entries.

    Loaded with ``weights_only=True``: plain tensors and Python values, never arbitrary pickled objects
    (a checkpoint from elsewhere cannot run code), so everything saved must be of those types.
    """
    if "weights_only" in inspect.signature(fabric.load).parameters:
        return fabric.load(path, state, weights_only=True)
    # Fabric < 2.5 has no weights_only and unpickles fully on torch < 2.6: restore the objects ourselves.
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    for name, obj in state.items():
        obj.load_state_dict(ckpt.pop(name))
    return ckpt


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint without Fabric (for prediction): plain tensors and Python values only."""
    return torch.load(path, map_location="cpu", weights_only=True)


def model_state(ckpt: dict[str, Any], use_ema: bool = True) -> dict[str, torch.Tensor]:
    """The trained model's weights in a checkpoint, keyed as ``model.state_dict()`` gives them: the EMA
    copy's when the run kept one and ``use_ema`` (the wrapper holds the model under ``module.``), with
    ``torch.compile``'s ``_orig_mod.`` prefix removed."""
    if use_ema and "ema" in ckpt:
        state = {k[len("module.") :]: v for k, v in ckpt["ema"].items() if k.startswith("module.")}
    else:
        state = dict(ckpt["model"])
    return {k.removeprefix("_orig_mod."): v for k, v in state.items()}
