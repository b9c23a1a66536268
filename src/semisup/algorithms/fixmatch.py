"""FixMatch: confident pseudo-labels from a weak view train the prediction on a strong view.

Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with Consistency and Confidence",
NeurIPS 2020. https://arxiv.org/abs/2001.07685
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semisup.algorithms.base import Algorithm, StepContext, ssl_logs, weak_strong_forward
from semisup.losses import confidence_mask, masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("fixmatch")
class FixMatch(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(max p(u_w) ≥ τ) · CE(argmax p(u_w), p(u_s)) ].

    Config (paper defaults): ``threshold`` τ=0.95, ``lambda_u`` λ_u=1, ``T``=1 (temperature of the
    pseudo-label distribution), ``hard_label``=True. μ=7, B=64, SGD lr 0.03 and EMA 0.999 live in the
    run config, shared by every algorithm.
    """

    paper = "Sohn et al. 2020, https://arxiv.org/abs/2001.07685"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        T: float = 1.0
        hard_label: bool = True

    def training_step(self, model, batch, ctx: StepContext):
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)
        # Pseudo-labels come from the weak view and are targets only (detached by weak_strong_forward).
        # The confidence threshold applies to the plain softmax (the paper; FlexMatch, FreeMatch and
        # SoftMatch here): T only sharpens the soft target, it must not let more examples pass the mask.
        probs = torch.softmax(logits_u_w, dim=-1)
        pseudo, mask = confidence_mask(probs, self.cfg.threshold)
        target = pseudo_label_target(logits_u_w, pseudo, self.cfg.hard_label, self.cfg.T)
        unsup_loss = masked_mean(soft_cross_entropy(logits_u_s, target), mask)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        return loss, ssl_logs(sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true)
