"""GPU checks (skipped without CUDA; CI has none): every algorithm trains on the GPU in bf16 without a
host synchronisation inside the training step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semisup.config import RunConfig
from semisup.data.dataset import SSLDataset
from semisup.engine.fabric import Fabric
from semisup.engine.trainer import Trainer
from semisup.registry import ALGORITHMS
from semisup.run import fit

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def images(n: int = 256, c: int = 10) -> SSLDataset:
    rng = np.random.default_rng(0)
    X = rng.random((n, 3, 16, 16), dtype=np.float32)
    y_true = np.arange(n) % c
    y = np.where(np.arange(n) < 4 * c, y_true, -1)
    return SSLDataset(
        X=X,
        y=y,
        classes=[str(k) for k in range(c)],
        kind="image",
        X_test=X[:64],
        y_test=y_true[:64],
        y_true=y_true,
        name="rand16",
    )


def cfg(name: str, **train) -> RunConfig:
    return RunConfig.from_dict(
        {
            "algorithm": {"name": name, **ALGORITHMS.get(name).contract_overrides},
            "net": {"name": "cnn", "width": 8},
            "data": {"batch_size": 8, "mu": 2},
            "train": {
                "steps": 6,
                "eval_every": 3,
                "log_every": 3,
                "checkpoint_every": 6,
                "progress": False,
                **train,
            },
            "fabric": {"accelerator": "cuda", "devices": 1, "precision": "bf16-mixed"},
        }
    )


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_algorithm_trains_on_gpu_in_bf16(name, tmp_path):
    res = fit(cfg(name), tmp_path / name, data=images())
    acc = res.summary["test_accuracy"]
    assert res.summary["device"].startswith("cuda")
    # a self-supervised objective (simclr) has no classifier to score
    assert acc is None if ALGORITHMS.get(name).self_supervised else 0 <= acc <= 1


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_training_step_has_no_host_sync(name):
    c = cfg(name)
    trainer = Trainer(c, Fabric(accelerator="cuda", devices=1, precision="bf16-mixed"), None, images())
    trainer.train_step(0)  # first step: lazy allocations, cudnn autotuning
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(1, 3):
            _, logs, _ = trainer.train_step(step)
            trainer.meter.add(logs)
    finally:
        torch.cuda.set_sync_debug_mode("default")
