"""DARP on FixMatch: pseudo-labels refined so the unlabeled pool's class sums follow the labeled prior.

Kim et al., "Distribution Aligning Refinery of Pseudo-label for Imbalanced Semi-supervised Learning",
NeurIPS 2020. https://arxiv.org/abs/2007.08844 (FixMatch + DARP: the paper's Table 2; authors' code
https://github.com/bbuing9/DARP, train_fix.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, ssl_logs, weak_strong_forward
from semisup.components.class_prior import LabeledClassCounts
from semisup.components.darp import DARPRefinery
from semisup.losses import masked_mean
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("darp")
class DARP(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(max x̃_b ≥ τ) · CE(argmax x̃_b, p(u_s)) ].

    Until ``warmup`` (a fraction of training) x̃_b = p(u_w): FixMatch. Then x̃_b is the refined
    pseudo-label of example b (:class:`~semisup.components.darp.DARPRefinery`): every weak-view prediction
    is kept in a memory of the pool, and every ``period`` steps the whole memory is refined by DARP's
    convex problem to class sums N̂ = π_l · N (π_l the labeled class distribution, N the pool size), after
    removing noisy entries (top α · N̂_k per class). Between refinements the last refined labels are used,
    as in the authors' code. N̂ assumes the pool follows the labeled distribution (the paper's default;
    its "DARP + estim." variant estimates N̂ with a separate model and is not built here). Under DDP the
    memory is written from the global batch (``ctx.dist``), so every rank refines the same memory.

    Config (paper/code defaults): ``threshold`` τ=0.95, ``lambda_u``=1, ``warmup``=0.4 (200 of 500
    epochs), ``period``=10 steps, ``alpha``=2, ``iters``=10 (T, coordinate-ascent rounds).
    """

    paper = "Kim et al. 2020, https://arxiv.org/abs/2007.08844"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0, "warmup": 0.0, "period": 1}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        warmup: float = 0.4
        period: int = 10
        alpha: float = 2.0
        iters: int = 10

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if not 0.0 <= cfg.warmup <= 1.0 or cfg.period < 1:
            raise ValueError(f"darp needs warmup in [0, 1] and period >= 1, got {cfg.warmup}, {cfg.period}")
        self.counts = LabeledClassCounts(num_classes)
        self.refinery = DARPRefinery(num_classes, max(1, n_unlabeled), cfg.alpha, cfg.iters)

    def observe_labels(self, y_lb: torch.Tensor) -> None:
        self.counts.set(y_lb)

    def training_step(self, model, batch, ctx: StepContext):
        if batch.u_index is None:
            raise ValueError("darp keeps per-example state: the batch needs u_index")
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)
        probs = torch.softmax(logits_u_w, dim=-1)
        gather = ctx.dist.all_gather
        self.refinery.update(gather(batch.u_index), gather(probs))  # every rank holds the same memory
        start = math.ceil(self.cfg.warmup * ctx.total_steps)
        if ctx.step >= start:
            if (ctx.step - start) % self.cfg.period == 0:
                self.refinery.refine(self.counts.prior() * self.refinery.memory.shape[0])
            targets = self.refinery.refined[batch.u_index]
        else:
            targets = probs
        max_p, pseudo = targets.max(dim=-1)
        mask = (max_p >= self.cfg.threshold).float()
        unsup_loss = masked_mean(F.cross_entropy(logits_u_s, pseudo, reduction="none"), mask)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        return loss, ssl_logs(sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true)
