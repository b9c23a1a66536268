"""Supervised baseline: cross-entropy on the labeled batch only; the unlabeled data is not used."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("supervised")
class Supervised(Algorithm):
    """Cross-entropy on the labeled examples under the weak view (the baseline every SSL method must beat)."""

    paper = "baseline"
    unlabeled_views = ()

    @dataclass
    class Config:
        label_smoothing: float = 0.0

    def training_step(self, model, batch, ctx: StepContext):
        logits = model(batch.x_lb)
        sup_loss = F.cross_entropy(logits, batch.y_lb, label_smoothing=self.cfg.label_smoothing)
        return sup_loss, {"train/sup_loss": sup_loss.detach()}
