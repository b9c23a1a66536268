"""Where a training step's time goes: augmentation, forward+backward, update (optimizer, schedule, EMA)
and the rest, plus end-to-end steps/s and the bare forward+backward of the same batch.

    python benchmarks/step_time.py --data digits --net cnn --set net.width=16          # CPU
    python benchmarks/step_time.py --data synthetic32 --net wrn28_2 --accelerator cuda \\
        --precision bf16-mixed 32-true --compile --channels-last                        # one GPU

``synthetic32`` is random 3×32×32 images (speed only; accuracy is meaningless on it).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

import semisup
from semisup.config import RunConfig, apply_overrides
from semisup.data.dataset import SSLDataset
from semisup.engine.distributed import fabric_kwargs
from semisup.engine.fabric import Fabric
from semisup.engine.trainer import Trainer


def synthetic32(n: int = 4096, classes: int = 10, labels_per_class: int = 25) -> SSLDataset:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8).astype(np.float32) / 255
    y_true = np.arange(n) % classes
    y = np.where(np.arange(n) < classes * labels_per_class, y_true, -1)
    return SSLDataset(
        X=X,
        y=y.astype(np.int64),
        classes=[str(c) for c in range(classes)],
        kind="image",
        X_test=X[:512],
        y_test=y_true[:512].astype(np.int64),
        y_true=y_true,
        name="synthetic32",
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(args: argparse.Namespace, precision: str) -> dict:
    d = apply_overrides({}, list(args.set or []))
    d.update({"algorithm": args.algorithm, "seed": 0})
    d.setdefault("net", {})["name"] = args.net
    d.setdefault("data", {}).update({"name": args.data, "batch_size": args.batch_size, "mu": args.mu})
    d.setdefault("train", {}).update(
        {"steps": 10**6, "progress": False, "compile": args.compile, "channels_last": args.channels_last}
    )
    d["fabric"] = {"accelerator": args.accelerator, "devices": 1, "precision": precision}
    cfg = RunConfig.from_dict(d)
    data = synthetic32() if args.data == "synthetic32" else semisup.load_dataset(cfg.data, cfg.seed)
    fabric = Fabric(**fabric_kwargs(cfg.fabric))
    if fabric.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
    trainer = Trainer(cfg, fabric, None, data.validate())
    dev = fabric.device
    step = 0
    t0 = time.perf_counter()
    for _ in range(args.warmup):  # includes torch.compile's first compilation
        loss, logs, _ = trainer.train_step(step)
        trainer.meter.add(logs)
        step += 1
    sync(dev)
    warmup_s = time.perf_counter() - t0

    # 1) end to end, no synchronisation inside the loop: what a run actually gets
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss, logs, _ = trainer.train_step(step)
        trainer.meter.add(logs)
        step += 1
    sync(dev)
    step_s = (time.perf_counter() - t0) / args.steps
    trainer.meter.compute()

    # 2) breakdown with synchronisation at phase boundaries (slightly slower than 1)
    trainer.cfg.train.profile = True
    trainer.timer.reset()
    for _ in range(args.steps):
        t = time.perf_counter()
        loss, logs, _ = trainer.train_step(step)
        trainer.meter.add(logs)
        sync(dev)
        trainer.timer.add({"time/step": time.perf_counter() - t})
        step += 1
    parts = trainer.timer.compute()
    trainer.cfg.train.profile = False

    # 3) bare forward+backward of the same-sized batch, no augmentation, no update
    batch = trainer.make_batch(step)
    x = torch.cat([batch.x_lb, *batch.u_views])
    y = torch.randint(0, data.num_classes, (len(x),), device=dev)
    for _ in range(3):
        fabric.backward(F.cross_entropy(trainer.model(x), y))
    trainer.optimizer.zero_grad(set_to_none=True)
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        fabric.backward(F.cross_entropy(trainer.model(x).float(), y))
        trainer.optimizer.zero_grad(set_to_none=True)
    sync(dev)
    bare_s = (time.perf_counter() - t0) / args.steps

    total = parts["time/step"]
    other = total - parts["time/augment"] - parts["time/forward_backward"] - parts["time/update"]
    return {
        "data": args.data,
        "net": args.net,
        "algorithm": args.algorithm,
        "precision": precision,
        "device": torch.cuda.get_device_name()
        if dev.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)",
        "batch": f"{args.batch_size} labeled + {len(batch.u_views)}x{args.mu * args.batch_size} unlabeled",
        "compile": args.compile,
        "channels_last": args.channels_last,
        "steps_per_s": round(1 / step_s, 2),
        "step_ms": round(1000 * step_s, 2),
        "bare_fwd_bwd_ms": round(1000 * bare_s, 2),
        "share_outside_bare_fwd_bwd": round(1 - bare_s / step_s, 3),
        "profiled_ms": {
            "augment": round(1000 * parts["time/augment"], 2),
            "forward_backward": round(1000 * parts["time/forward_backward"], 2),
            "update_optimizer_ema": round(1000 * parts["time/update"], 2),
            "other_bookkeeping": round(1000 * other, 2),
            "total": round(1000 * total, 2),
        },
        "augment_plus_bookkeeping_share": round(1 - parts["time/forward_backward"] / total, 3),
        "warmup_s": round(warmup_s, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="digits")
    p.add_argument("--net", default="cnn")
    p.add_argument("--algorithm", default="fixmatch")
    p.add_argument("--batch-size", type=int, default=64, dest="batch_size")
    p.add_argument("--mu", type=int, default=7)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--accelerator", default="cpu")
    p.add_argument("--precision", nargs="+", default=["32-true"])
    p.add_argument("--compile", action="store_true")
    p.add_argument("--channels-last", action="store_true", dest="channels_last")
    p.add_argument("--set", action="append", help="config override (key=value)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()
    results = []
    for prec in args.precision:
        results.append(measure(args, prec))
        print(json.dumps(results[-1], indent=1), flush=True)
        if args.json:  # written after each precision, so a timeout keeps what finished
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
