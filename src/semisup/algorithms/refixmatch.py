"""ReFixMatch: FixMatch that also learns from the low-confidence predictions it would discard.

Nguyen & Yang, "Boosting Semi-Supervised Learning by bridging high and low-confidence predictions",
ICCV 2023 workshops. https://arxiv.org/abs/2308.07509
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, ssl_logs, weak_strong_forward
from semisup.losses import confidence_mask, kl_div_with_logits, masked_mean
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("refixmatch")
class ReFixMatch(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ m_b · CE(argmax q_b, p(u_s)) + (1 − m_b) · KL(q̃_b ‖ p(u_s)) ].

    q_b = p(u_w), m_b = 1(max q_b ≥ τ), q̃_b = softmax(logits(u_w) / T). Confident examples train as in
    FixMatch; the examples below the threshold, which FixMatch discards, train the strong view towards
    the weak view's whole (soft) prediction, so every unlabeled example contributes. Both terms are
    averaged over all μB examples. ``train/unsup_loss`` logs the sum, ``train/low_conf_loss`` the second
    term.

    USB's implementation differs from the paper here: it adds the KL term on the *confident* examples
    (the FixMatch mask), so it never learns from a low-confidence one; we follow the paper and apply it
    below the threshold. The soft target is the plain weak-view prediction (T = 1, USB's target too).

    Config: ``threshold`` τ=0.95, ``lambda_u`` λ_u=1 (both terms), ``T``=1.
    """

    paper = "Nguyen & Yang 2023, https://arxiv.org/abs/2308.07509"
    unlabeled_views = ("weak", "strong")

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)

    def training_step(self, model, batch, ctx: StepContext):
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)  # weak logits detached
        pseudo, mask = confidence_mask(torch.softmax(logits_u_w, dim=-1), self.cfg.threshold)
        high_conf_loss = masked_mean(F.cross_entropy(logits_u_s, pseudo, reduction="none"), mask)
        low_conf_loss = masked_mean(kl_div_with_logits(logits_u_w / self.cfg.T, logits_u_s), 1.0 - mask)
        unsup_loss = high_conf_loss + low_conf_loss

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            low_conf_loss=low_conf_loss.detach(),
        )
        return loss, logs
