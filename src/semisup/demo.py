"""``semisup demo``: the classic picture in numbers — two moons, 8 labels, supervised vs SSL.

Supervised training on the 8 labels, FixMatch and the Π-model on the same labels plus the unlabeled
points. On two moons the Π-model's consistency follows the gap between the moons; FixMatch's
confidence threshold keeps the supervised net's confident mistakes (see BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semisup.config import RunConfig


def demo_config(algorithm: str, steps: int, seed: int) -> RunConfig:
    """Two moons with 4 labels per class and an MLP; small input noise (5% of each feature's std) as
    the weak view, which suits 2-D data better than the default 10%."""
    return RunConfig.from_dict(
        {
            "algorithm": {"name": algorithm},
            "net": {"name": "mlp"},
            "data": {"name": "moons", "labels_per_class": 4, "batch_size": 64, "mu": 7},
            "augment": {"noise_std": 0.05},
            "train": {
                "steps": steps,
                "eval_every": steps,
                "log_every": max(1, steps // 10),
                "checkpoint_every": steps,
                "progress": False,
            },
            "seed": seed,
        }
    )


def run_demo(out: str | Path = "runs/demo", steps: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Train supervised, FixMatch and the Π-model on the same 8 labels; print and return accuracies."""
    from semisup.engine.trainer import fit

    out = Path(out)
    results = {}
    for algo in ("supervised", "fixmatch", "pi_model"):
        run = out / algo
        if (run / "config.yaml").exists():  # the demo always starts fresh
            import shutil

            shutil.rmtree(run)
        res = fit(demo_config(algo, steps, seed), run)
        results[algo] = res.summary
        print(
            f"{algo:>10}: test accuracy {100 * res.summary['test_accuracy']:.1f}% "
            f"({res.summary['n_labeled']} labels, {res.summary['train_seconds']:.1f}s) -> {run}"
        )
    return results
