"""Π-model: two stochastic passes over the same input should agree.

Laine & Aila, "Temporal Ensembling for Semi-Supervised Learning", ICLR 2017.
https://arxiv.org/abs/1610.02242
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.losses import mse_probs, sigmoid_rampup
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("pi_model")
class PiModel(Algorithm):
    """loss = CE(x_lb) + w(t) · mean_b (1/C)‖softmax(f(aug₁ u)) − softmax(f(aug₂ u))‖².

    w(t) = ``lambda_u`` · exp(−5(1−t)²) over the first ``rampup`` of training (the paper ramps over 80 of
    300 epochs). The paper's w_max=100 multiplies a consistency term averaged over the whole minibatch
    while its supervised term is divided by the same minibatch size; with both terms averaged over
    their own examples, as here, the same balance is ``lambda_u`` = w_max = 100. As in the paper, both
    passes receive gradients (``detach_target``=False).
    """

    paper = "Laine & Aila 2017, https://arxiv.org/abs/1610.02242"
    unlabeled_views = ("weak", "weak")
    contract_overrides = {"rampup": 0.0}

    @dataclass
    class Config:
        lambda_u: float = 100.0
        rampup: float = 80 / 300
        detach_target: bool = False

    def training_step(self, model, batch, ctx: StepContext):
        u1, u2 = batch.u_views
        logits_x, logits_u1, logits_u2 = forward_cat(model, batch.x_lb, u1, u2)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)
        unsup_loss = mse_probs(logits_u1.float(), logits_u2.float(), self.cfg.detach_target).mean()

        weight = self.cfg.lambda_u * sigmoid_rampup(ctx.progress, self.cfg.rampup)
        loss = sup_loss + weight * unsup_loss
        return loss, ssl_logs(
            sup_loss,
            unsup_loss,
            pseudo=logits_u1.detach().argmax(-1),
            u_true=batch.u_true,
            unsup_weight=weight,
        )
