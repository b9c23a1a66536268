"""FreeMatch: FixMatch with a self-adaptive global threshold, modulated per class, plus a fairness term.

Wang et al., "FreeMatch: Self-adaptive Thresholding for Semi-supervised Learning", ICLR 2023.
https://arxiv.org/abs/2205.07246
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, ssl_logs, weak_strong_forward
from semisup.components import SelfAdaptiveThreshold, self_adaptive_fairness_loss
from semisup.losses import masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("freematch")
class FreeMatch(Algorithm):
    """loss = CE(x_lb) + w_u · mean_b[ 1(max q_b ≥ τ_t(argmax q_b)) · CE(argmax q_b, p(u_s)) ] + w_f · L_f.

    q_b = p(u_w). τ_t(c) = MaxNorm(p̃_t)(c) · τ_t, where τ_t is an EMA (λ) of the batch-mean confidence
    and p̃_t an EMA of the batch-mean probability per class
    (:class:`~semisup.components.SelfAdaptiveThreshold`). Each step first updates the EMAs with the
    weak-view probabilities, then masks, as in the authors' code. τ_0 = 1/C, so early in training almost
    every pseudo-label is used; τ_t rises with the model's confidence. L_f is the self-adaptive fairness
    loss (:func:`~semisup.components.self_adaptive_fairness_loss`, paper Eq. 12), logged as
    ``train/fair_loss``. Under DDP the EMAs and L_f's batch statistics come from the global batch
    (``ctx.dist``), as one process with the whole batch would compute them.

    Config (paper defaults): ``momentum`` λ=0.999, ``lambda_u`` w_u=1, ``lambda_f`` w_f=0.01 (the paper's
    value for its scarcest-label settings; 0.001 in its others and in USB's configs; 0 disables L_f),
    ``hard_label``=True, ``T``=1 (temperature of soft pseudo-labels, used only if not hard).
    """

    paper = "Wang et al. 2023, https://arxiv.org/abs/2205.07246"
    unlabeled_views = ("weak", "strong")

    @dataclass
    class Config:
        momentum: float = 0.999
        lambda_u: float = 1.0
        lambda_f: float = 0.01
        hard_label: bool = True
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        self.adaptive_threshold = SelfAdaptiveThreshold(num_classes, cfg.momentum)

    def training_step(self, model, batch, ctx: StepContext):
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)
        probs = torch.softmax(logits_u_w, dim=-1)
        self.adaptive_threshold.update(ctx.dist.all_gather(probs))  # EMAs of the global batch
        mask = self.adaptive_threshold.mask(probs)
        pseudo = probs.argmax(dim=-1)

        target = pseudo_label_target(logits_u_w, pseudo, self.cfg.hard_label, self.cfg.T)
        unsup_loss = masked_mean(soft_cross_entropy(logits_u_s, target), mask)
        # L_f's batch histogram and mean are over the global batch too; the gradient reaches every
        # rank's slice (a differentiable gather), so DDP's average is the gradient of the global L_f.
        fair_loss = self_adaptive_fairness_loss(
            ctx.dist.all_gather(logits_u_s, grad=True),
            ctx.dist.all_gather(mask),
            self.adaptive_threshold.class_prob,
            self.adaptive_threshold.label_hist,
        )

        loss = sup_loss + self.cfg.lambda_u * unsup_loss + self.cfg.lambda_f * fair_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            fair_loss=fair_loss.detach(),
            threshold_mean=self.adaptive_threshold.thresholds().mean(),
            threshold_global=self.adaptive_threshold.global_threshold.clone(),
        )
        return loss, logs
