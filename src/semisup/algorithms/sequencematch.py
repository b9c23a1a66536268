"""SequenceMatch: a medium view between the weak and the strong one, each pulled towards the weaker.

Nguyen, "SequenceMatch: Revisiting the design of weak-strong augmentations for Semi-supervised
learning", WACV 2024. https://arxiv.org/abs/2310.15787 (code: https://github.com/beandkay/SequenceMatch)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.losses import (
    confidence_mask,
    kl_div_with_logits,
    masked_mean,
    pseudo_label_target,
    soft_cross_entropy,
)
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("sequencematch")
class SequenceMatch(Algorithm):
    """loss = CE(x_lb) + λ_u · (L_pl + L_mw + L_sm + L_sw), over weak w, medium m and strong s views.

    With p_v = softmax(f(v)) and 1_v = 1(max p_v ≥ τ):

    - L_pl = mean_b[ 1_w · CE(argmax p_w, p_s) ]: FixMatch's pseudo-label term;
    - L_ab = mean_b[ 1_b · KL(softmax(f(b)/T) ‖ p_a) ] for (a, b) = (m, w), (s, m), (s, w): each view is
      pulled towards the next weaker one, and the strong one towards the weak one too. The target b is
      detached, sharpened by T and masked by its own confidence (the authors' code; USB masks all three
      by FlexMatch's thresholds on p_w and applies its softmax to probabilities, not logits).

    The medium view is ``make_views``' ``"medium"``: the strong view with one RandAugment op (the
    authors' code: 1 op against 3) or half the corruption (vectors, tables). All pseudo-labels and
    targets come from the current batch: no state across steps, so DDP needs no collective.

    Config (the authors' defaults): ``threshold`` τ=0.95, ``lambda_u`` λ_u=1, ``T``=0.5,
    ``hard_label``=True (soft: the CE target is softmax(f(w)/T)). Logs ``train/unsup_loss`` (the
    sum of the four terms) and each term as ``train/pl_loss``, ``train/kl_mw``, ``train/kl_sm``,
    ``train/kl_sw``.
    """

    paper = "Nguyen 2024, https://arxiv.org/abs/2310.15787"
    unlabeled_views = ("weak", "medium", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        T: float = 0.5
        hard_label: bool = True

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)

    def training_step(self, model, batch, ctx: StepContext):
        u_w, u_m, u_s = batch.u_views
        logits = forward_cat(model, batch.x_lb, u_w, u_m, u_s)
        logits_x, logits_w, logits_m, logits_s = (t.float() for t in logits)
        sup_loss = torch.nn.functional.cross_entropy(logits_x, batch.y_lb)
        # Targets only: the weak view never gets a gradient, the medium view only as a student.
        target_w, target_m = logits_w.detach(), logits_m.detach()
        pseudo, mask_w = confidence_mask(torch.softmax(target_w, -1), self.cfg.threshold)
        _, mask_m = confidence_mask(torch.softmax(target_m, -1), self.cfg.threshold)

        target = pseudo_label_target(target_w, pseudo, self.cfg.hard_label, self.cfg.T)
        pl_loss = masked_mean(soft_cross_entropy(logits_s, target), mask_w)
        T = self.cfg.T
        kl_mw = masked_mean(kl_div_with_logits(target_w / T, logits_m), mask_w)
        kl_sm = masked_mean(kl_div_with_logits(target_m / T, logits_s), mask_m)
        kl_sw = masked_mean(kl_div_with_logits(target_w / T, logits_s), mask_w)
        unsup_loss = pl_loss + kl_mw + kl_sm + kl_sw

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        terms = {"pl_loss": pl_loss, "kl_mw": kl_mw, "kl_sm": kl_sm, "kl_sw": kl_sw}
        extra = {k: v.detach() for k, v in terms.items()}
        return loss, ssl_logs(sup_loss, unsup_loss, mask=mask_w, pseudo=pseudo, u_true=batch.u_true, **extra)
