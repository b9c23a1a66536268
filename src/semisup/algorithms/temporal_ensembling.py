"""Temporal ensembling: predictions should agree with an ensemble of the network's own past predictions.

Laine & Aila, "Temporal Ensembling for Semi-Supervised Learning", ICLR 2017.
https://arxiv.org/abs/1610.02242
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, forward_cat
from semisup.data.batch import pseudo_label_accuracy
from semisup.losses import masked_mean, sigmoid_rampup
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("temporal_ensembling")
class TemporalEnsembling(Algorithm):
    """loss = CE(x_lb) + w(t) · mean_b[ 1(t_b > 0) · (1/C)‖softmax(f(aug u_b)) − Z_b / (1 − α^{t_b})‖² ].

    Z (n_unlabeled, C) is an exponential moving average of each unlabeled example's past softmax
    predictions, Z_b ← α Z_b + (1−α) softmax(f(aug u_b)), and t_b counts its updates; Z_b / (1 − α^{t_b})
    removes the bias of Z's zero start (the paper's startup correction). The paper updates Z once per
    epoch with that epoch's predictions; here each example's entry is updated whenever it is in a batch,
    right after its loss is computed, with the detached predictions (so a target never contains the
    prediction it is compared with). Examples seen for the first time (t_b = 0) have no target yet:
    with ``mask_unseen`` they are masked out, the mean still dividing by the whole batch as FixMatch's
    mask does; without it they are pulled towards the zero vector, the paper's literal initial target
    z̃ = 0 (Algorithm 2). Z and t are buffers, saved in checkpoints and indexed by ``batch.u_index``.

    Config (paper defaults): ``alpha`` α=0.6 (ensemble momentum); ``lambda_u`` = w_max = 30, the paper's
    value for temporal ensembling on CIFAR-10 and SVHN (100 for the Π-model; the scale argument is the
    same as in ``PiModel``); ``rampup`` over 80 of 300 epochs.

    Under DDP the memory is updated from every rank's batch (``ctx.dist``), so each rank holds the
    memory one process with the whole batch would. Limitation: an example appearing twice in one
    (global) batch is updated once, from one of its predictions.

    Attributes:
        ensemble: (n_unlabeled, C) float buffer Z. updates: (n_unlabeled,) long buffer t.
    """

    paper = "Laine & Aila 2017, https://arxiv.org/abs/1610.02242"
    unlabeled_views = ("weak",)
    # A fresh memory masks every example; the zero target keeps the unsupervised term active at step 0.
    contract_overrides = {"rampup": 0.0, "mask_unseen": False}

    @dataclass
    class Config:
        alpha: float = 0.6
        lambda_u: float = 30.0
        rampup: float = 80 / 300
        mask_unseen: bool = True

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if not 0.0 <= cfg.alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1), got {cfg.alpha}")
        self.register_buffer("ensemble", torch.zeros(n_unlabeled, num_classes))
        self.register_buffer("updates", torch.zeros(n_unlabeled, dtype=torch.long))

    def targets(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Bias-corrected ensemble targets Z_i / (1 − α^{t_i}) (N, C) and the {0,1} mask t_i > 0 (N,)."""
        z, t = self.ensemble[index], self.updates[index]
        seen = t > 0
        correction = 1.0 - self.cfg.alpha ** t.to(z.dtype)
        target = z / torch.where(seen, correction, torch.ones_like(correction)).unsqueeze(-1)
        return target, seen.to(z.dtype)

    @torch.no_grad()
    def update(self, index: torch.Tensor, probs: torch.Tensor) -> None:
        """Z_i ← α Z_i + (1−α) p_i and t_i ← t_i + 1 for the examples ``index`` (N,), ``probs`` (N, C)."""
        a = self.cfg.alpha
        self.ensemble[index] = a * self.ensemble[index] + (1.0 - a) * probs.to(self.ensemble.dtype)
        self.updates[index] += 1

    def training_step(self, model, batch, ctx: StepContext):
        if batch.u_index is None:
            raise ValueError("temporal_ensembling needs batch.u_index (positions in the unlabeled pool)")
        (u,) = batch.u_views
        logits_x, logits_u = forward_cat(model, batch.x_lb, u)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)

        # Targets from the memory as it stands *before* this step's predictions enter it.
        target, seen = self.targets(batch.u_index)
        mask = seen if self.cfg.mask_unseen else torch.ones_like(seen)
        per_example = ((torch.softmax(logits_u.float(), dim=-1) - target) ** 2).mean(dim=-1)
        unsup_loss = masked_mean(per_example, mask)

        probs = torch.softmax(logits_u.detach().float(), dim=-1)
        # Every rank's predictions enter the memory: all ranks keep the same Z, the global batch's.
        self.update(ctx.dist.all_gather(batch.u_index), ctx.dist.all_gather(probs))

        weight = self.cfg.lambda_u * sigmoid_rampup(ctx.progress, self.cfg.rampup)
        loss = sup_loss + weight * unsup_loss
        logs = {
            "train/sup_loss": sup_loss.detach(),
            "train/unsup_loss": unsup_loss.detach(),
            "train/mask_ratio": mask.mean(),
            "train/unsup_weight": weight,
        }
        acc = pseudo_label_accuracy(target.argmax(-1), batch.u_true, seen)
        if acc is not None:
            logs["train/pseudo_acc"] = acc
        return loss, logs
