"""AdaMatch in the SSL setting: a confidence threshold relative to the labeled batch, and distribution
alignment of the unlabeled pseudo-labels to the labeled class marginal.

Berthelot et al., "AdaMatch: A Unified Approach to Semi-Supervised Learning and Domain Adaptation",
ICLR 2022. https://arxiv.org/abs/2106.04732 (authors' code: google-research/adamatch,
``semi_supervised/adamatch.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.components import RelativeDistributionAlignment, relative_confidence_threshold
from semisup.losses import masked_mean
from semisup.registry import ALGORITHMS


def cosine_warmup(progress: float, length: float) -> float:
    """μ(t) = 1/2 − cos(min(π, π t / length))/2: 0 at the start, 1 from ``length`` on (paper: length 1/2)."""
    if length <= 0:
        return 1.0
    return 0.5 - 0.5 * math.cos(min(math.pi, math.pi * progress / length))


@ALGORITHMS.register("adamatch")
class AdaMatch(Algorithm):
    """loss = ½[CE(x_w) + CE(x_s)] + μ(t) λ_u · mean_b[ 1(max p̃_b ≥ c_τ) · CE(argmax p̃_b, p(u_s)) ].

    Labeled x under its weak and strong views (``batch.lb_views``); c_τ = τ · mean_b max p(x_w)_b
    (:func:`~semisup.components.relative_confidence_threshold`); p̃ = Normalize(p(u_w) · p̄_lb / p̄_u)
    (:class:`~semisup.components.RelativeDistributionAlignment`: an EMA of the labeled marginal over a
    moving average of the unlabeled one, as in the authors' code); μ(t) rises as a half cosine from 0 to 1
    over the first ``warmup`` of training (logged ``train/unsup_weight``). Under DDP the threshold and the
    marginals come from the global batch (``ctx.dist``).

    What the SSL setting keeps: the paper's **random logit interpolation** (labeled logits drawn between a
    pass with BatchNorm statistics of the labeled batch alone and the joint pass) is left out, as USB does:
    it exists to bridge the BN statistics of two domains, and here both batches come from one
    distribution. The authors' SSL script keeps it; a net without BatchNorm is unaffected either way.
    Where USB and the authors disagree we follow the authors: τ = 0.9 (USB 0.95), the labeled strong view
    in the supervised term and μ(t) (USB has neither), μ = 3 (USB 7), p̄_u over a 128-batch window (USB an
    EMA).

    Config (paper defaults): ``threshold`` τ=0.9, ``lambda_u`` λ_u=1, ``warmup``=0.5 (fraction of
    training), ``momentum``=0.999 (EMA of p̄_lb), ``window``=128 (batches in p̄_u).
    """

    paper = "Berthelot et al. 2022, https://arxiv.org/abs/2106.04732"
    unlabeled_views = ("weak", "strong")
    labeled_extra_views = ("strong",)
    default_mu = 3
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.9
        lambda_u: float = 1.0
        warmup: float = 0.5
        momentum: float = 0.999
        window: int = 128

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        if not 0.0 <= cfg.warmup <= 1.0:
            raise ValueError(f"adamatch.warmup must be in [0, 1] (a fraction of training), got {cfg.warmup}")
        self.alignment = RelativeDistributionAlignment(num_classes, cfg.momentum, cfg.window)

    def training_step(self, model, batch, ctx: StepContext):
        if len(batch.lb_views) != 1:
            raise ValueError("adamatch needs the strong view of the labeled batch in batch.lb_views")
        (x_lb_s,) = batch.lb_views
        u_w, u_s = batch.u_views
        logits_x, logits_x_s, logits_u_w, logits_u_s = forward_cat(model, batch.x_lb, x_lb_s, u_w, u_s)
        sup_loss = 0.5 * (F.cross_entropy(logits_x, batch.y_lb) + F.cross_entropy(logits_x_s, batch.y_lb))

        # Targets only: no gradient through the weak views. Threshold and marginals use the global batch.
        probs_x = torch.softmax(logits_x.detach().float(), dim=-1)
        probs_u = torch.softmax(logits_u_w.detach().float(), dim=-1)
        gather = ctx.dist.all_gather
        c_tau = relative_confidence_threshold(gather(probs_x), self.cfg.threshold)
        self.alignment.update(gather(probs_x), gather(probs_u))
        conf, pseudo = self.alignment.align(probs_u).max(dim=-1)
        mask = (conf >= c_tau).float()
        unsup_loss = masked_mean(F.cross_entropy(logits_u_s.float(), pseudo, reduction="none"), mask)

        weight = self.cfg.lambda_u * cosine_warmup(ctx.progress, self.cfg.warmup)
        loss = sup_loss + weight * unsup_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            unsup_weight=weight,
            threshold=c_tau,
        )
        return loss, logs
