"""The loop's DDP pieces: the step context's collectives, synchronized BatchNorm, and logs over ranks.

One process and W processes must compute the same thing: algorithm state follows the global batch
(through ``StepContext.dist``), BatchNorm can normalise over it (``fabric.sync_batchnorm``), and the
logged ``train/*`` values describe it rather than rank 0's share.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from semisup.collective import Collective, FabricCollective
from semisup.config import ConfigError, FabricConfig
from semisup.engine.metrics import Meter

# Device types whose tensors torch's SyncBatchNorm synchronises (it raises on CPU tensors).
SYNC_BN_DEVICES = ("cuda", "xpu", "hpu")


def fabric_kwargs(cfg: FabricConfig) -> dict[str, Any]:
    """``Fabric(...)``'s arguments: the config without our own switches."""
    kwargs = asdict(cfg)
    kwargs.pop("sync_batchnorm")
    return kwargs


def collective(fabric: Any) -> Collective:
    """The collectives over the launched Fabric's ranks; the identity on one process."""
    return FabricCollective(fabric) if fabric.world_size > 1 else Collective()


def check_sync_batchnorm(cfg: FabricConfig, fabric: Any) -> None:
    """Refuse ``fabric.sync_batchnorm`` where torch cannot synchronise BatchNorm (several CPU processes).

    Raises:
        ConfigError: with the two ways out.
    """
    if cfg.sync_batchnorm and fabric.world_size > 1 and fabric.device.type not in SYNC_BN_DEVICES:
        raise ConfigError(
            "fabric.sync_batchnorm needs GPUs: torch's SyncBatchNorm cannot synchronise "
            f"{fabric.device.type} tensors. Set fabric.sync_batchnorm=false (each process then normalises "
            "over its own batch) or train on GPUs (fabric.accelerator=gpu)"
        )


def convert_sync_batchnorm(*modules: nn.Module) -> None:
    """Replace, in place, every BatchNorm layer below ``modules`` by a ``SyncBatchNorm`` with the same
    parameters and statistics. The algorithm's modules are converted with the model, so a teacher that
    runs in train mode (mean teacher) normalises over the global batch too; checkpoints keep the plain
    BatchNorm keys, so a predictor loads them into the unconverted net."""
    for module in modules:  # neither is a BatchNorm itself, so torch converts its children in place
        torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)


def reduced_means(meter: Meter, dist: Collective, device: torch.device) -> dict[str, float]:
    """The meter's means over every rank's batches: numerators and denominators summed over ranks
    (one all_reduce of one stacked tensor), so each ``train/*`` value is the one a single process with
    the global batch logs. Every rank logs the same names (the same code runs on each), which the
    stacked order relies on."""
    if dist.world_size == 1:
        return meter.compute()
    keys = sorted(meter.sums)
    pairs = [x for k in keys for x in meter.sums[k]]  # (numerator, denominator) per name
    flat = torch.stack([torch.as_tensor(x, dtype=torch.float64, device=device).reshape(()) for x in pairs])
    sums = dist.all_reduce(flat, "sum").view(-1, 2).tolist()  # one host sync, at log steps only
    return {k: num / den for k, (num, den) in zip(keys, sums, strict=True) if den > 0}


def global_meter_state(meter: Meter, dist: Collective, device: torch.device) -> dict[str, list]:
    """The meter's partial sums over every rank, for the checkpoint (a collective: every rank calls it).

    On resume rank 0 loads them and the other ranks start from zero, so the first log window after a
    resume pools the same numbers as the uninterrupted run (rank 0's share alone would lose the others'
    and, loaded on every rank, count rank 0's W times)."""
    if dist.world_size == 1:
        return meter.state_dict()
    keys = sorted(meter.sums)
    pairs = [x for k in keys for x in meter.sums[k]]
    if not pairs:
        return {}
    flat = torch.stack([torch.as_tensor(x, dtype=torch.float64, device=device).reshape(()) for x in pairs])
    sums = dist.all_reduce(flat, "sum").view(-1, 2).cpu()
    return {k: [sums[i, 0].clone(), sums[i, 1].clone()] for i, k in enumerate(keys)}
