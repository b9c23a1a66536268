"""Pseudo-Label: train on the network's own argmax predictions for unlabeled data.

Lee, "Pseudo-Label: The Simple and Efficient Semi-Supervised Learning Method for Deep Neural
Networks", ICML 2013 Workshop on Challenges in Representation Learning.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.losses import confidence_mask, linear_ramp, masked_mean, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("pseudo_label")
class PseudoLabel(Algorithm):
    """loss = CE(x_lb) + α(t) · mean_b[ mask · CE(argmax p(u), p(u)) ], pseudo-labels recomputed each step.

    α(t) rises linearly from 0 at ``ramp_start`` to ``alpha_f`` at ``ramp_end`` (fractions of training;
    the paper's T1=100 and T2=600 epochs of its schedule), α_f=3. The paper keeps every pseudo-label
    (``threshold``=0); a threshold such as 0.95 gives the variant common in later benchmarks.
    """

    paper = "Lee 2013"
    unlabeled_views = ("weak",)
    contract_overrides = {"ramp_start": 0.0, "ramp_end": 0.0}

    @dataclass
    class Config:
        alpha_f: float = 3.0
        ramp_start: float = 0.1
        ramp_end: float = 0.6
        threshold: float = 0.0

    def training_step(self, model, batch, ctx: StepContext):
        (u,) = batch.u_views
        logits_x, logits_u = forward_cat(model, batch.x_lb, u)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)

        # The same forward pass supplies the prediction and, detached, its own target.
        probs = torch.softmax(logits_u.detach().float(), dim=-1)
        pseudo, mask = confidence_mask(probs, self.cfg.threshold)
        unsup_loss = masked_mean(soft_cross_entropy(logits_u.float(), pseudo), mask)

        alpha = self.cfg.alpha_f * linear_ramp(ctx.progress, self.cfg.ramp_start, self.cfg.ramp_end)
        loss = sup_loss + alpha * unsup_loss
        return loss, ssl_logs(
            sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true, unsup_weight=alpha
        )
