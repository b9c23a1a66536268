"""Adding an objective needs its own module and registry entries, nothing else.

A module written here, outside the package, defines an algorithm whose model has its own head (a cosine
classifier), registers both (``ALGORITHMS``, ``semisup.nets.heads.HEADS``) and is then trained with
``semisup.fit``, reloaded with ``semisup.load`` and used to predict, in a fresh process: no file of
semisup knows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

OBJECTIVE = '''
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, forward_cat, ssl_logs
from semisup.nets.heads import HEADS, HeadSpec
from semisup.registry import ALGORITHMS


class CosineHead(nn.Module):
    """scale · cos(features, class weights): (N, D) -> (N, C)."""

    def __init__(self, feature_dim, num_classes, scale):
        super().__init__()
        self.scale = scale
        self.weight = nn.Parameter(torch.randn(num_classes, feature_dim))

    def forward(self, x):
        return self.scale * F.normalize(x, dim=-1) @ F.normalize(self.weight, dim=-1).T


@HEADS.register("tiny_cosine")
def cosine_head(classifier, feature_dim, num_classes, scale):
    return CosineHead(feature_dim, num_classes, scale)


@ALGORITHMS.register("tiny_cosine_pi")
class TinyCosinePi(Algorithm):
    """CE on the labels + squared difference of two weak views' probabilities, on a cosine head."""

    unlabeled_views = ("weak", "weak")

    @dataclass
    class Config:
        scale: float = 5.0
        lambda_u: float = 1.0

    def model_heads(self):
        return [HeadSpec("tiny_cosine", {"scale": self.cfg.scale})]

    def training_step(self, model, batch, ctx):
        u1, u2 = batch.u_views
        logits_x, l1, l2 = forward_cat(model, batch.x_lb, u1, u2)
        sup = F.cross_entropy(logits_x, batch.y_lb)
        unsup = (l1.softmax(-1) - l2.softmax(-1).detach()).pow(2).sum(-1).mean()
        return sup + self.cfg.lambda_u * unsup, ssl_logs(sup, unsup)
'''

TRAIN_AND_PREDICT = """
import json, sys
import numpy as np
import torch
import semisup
import tiny_objective

cfg = semisup.RunConfig.from_dict({
    "algorithm": {"name": "tiny_cosine_pi", "scale": 4.0},
    "data": {"name": "moons", "labels_per_class": 4, "batch_size": 8, "mu": 2},
    "net": {"name": "mlp", "hidden": [16]},
    "train": {"steps": 3, "eval_every": 3, "log_every": 1, "progress": False},
})
result = semisup.fit(cfg, sys.argv[1])
model = semisup.load(sys.argv[1])
head = model.model[1].classifier
data = semisup.load_dataset(cfg.data, cfg.seed)
acc = float((model.predict_ids(data.X_test) == data.y_test).mean())
proba = model.predict_proba(data.X_test[:5])
print(json.dumps({
    "summary": {k: result.summary[k] for k in ("steps", "heads", "test_accuracy", "algorithm")},
    "head": [type(head).__name__, head.scale, list(head.weight.shape)],
    "loaded_acc": acc,
    "proba_sums": proba.sum(1).tolist(),
    "unsup_logged": "train/unsup_loss" in open(sys.argv[1] + "/metrics.csv").read(),
}))
"""

LOAD_WITHOUT_MODULE = """
import sys
import semisup
try:
    semisup.load(sys.argv[1])
except Exception as e:
    print(type(e).__name__, e)
"""


def _python(code: str, cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_new_objective_with_its_own_head_trains_reloads_and_predicts(tmp_path):
    (tmp_path / "tiny_objective.py").write_text(OBJECTIVE)
    run = tmp_path / "run"
    out = json.loads(_python(TRAIN_AND_PREDICT, tmp_path, str(run)).strip().splitlines()[-1])

    s = out["summary"]
    assert s["algorithm"] == "tiny_cosine_pi" and s["steps"] == 3
    # the head the objective declared is saved in the run folder, with its arguments...
    assert s["heads"] == [{"name": "tiny_cosine", "args": {"scale": 4.0}, "classifies": True}]
    # ...and rebuilt by semisup.load: the same head class, argument and shape (mlp width 16, 2 classes)
    assert out["head"] == ["CosineHead", 4.0, [2, 16]]
    # the reloaded model is the evaluated one: its test accuracy is the run's, to the last example
    assert out["loaded_acc"] == pytest.approx(s["test_accuracy"], abs=1e-6)  # the run's is float32
    assert all(abs(p - 1.0) < 1e-5 for p in out["proba_sums"]) and out["unsup_logged"]

    # A process that never imported the module knows neither the objective nor its head: an error that
    # names it (the saved config names the algorithm first), not a mismatched state dict.
    said = _python(LOAD_WITHOUT_MODULE, tmp_path.parent, str(run))
    assert said.startswith("UnknownNameError unknown algorithm 'tiny_cosine_pi'")
