"""ACR on FixMatch: a standard and a logit-adjusted balanced branch, with adaptive consistency.

Wei & Gan, "Towards Realistic Long-Tailed Semi-Supervised Learning: Consistency Is All You Need",
CVPR 2023. https://arxiv.org/abs/2306.09200 (authors' code https://github.com/Gank0078/ACR, train.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.components.class_prior import LabeledClassCounts
from semisup.components.distribution_estimate import AdaptiveAdjustment
from semisup.losses.logit_adjust import logit_adjustment
from semisup.nets.dual_head import DualHeadClassifier, add_dual_head, both_heads
from semisup.registry import ALGORITHMS


def debiased_pseudo_labels(logits_w: Tensor, shift: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """argmax softmax(z − shift) and the mask 1(max softmax(z − shift) ≥ τ  or  max softmax(z) ≥ τ)."""
    max_adj, pseudo = torch.softmax(logits_w - shift, dim=-1).max(dim=-1)
    max_raw = torch.softmax(logits_w, dim=-1).max(dim=-1).values
    return pseudo, ((max_adj >= threshold) | (max_raw >= threshold)).float()


@ALGORITHMS.register("acr")
class ACR(Algorithm):
    """loss = L_x + L_u + L_x^b + L_u^b on a net with a standard head f and a balanced head g (predicts).

    With π the labeled class distribution, A(τ) = τ log π, u_w the weak view and u_s1, u_s2 two strong views:

    - L_x = CE(f(x), y); L_x^b = CE(g(x) + A(τ_2), y) (logit-adjusted loss: g learns balanced scores).
    - L_u: pseudo-labels argmax softmax(f(u_w) − A(τ)), kept where that or softmax(f(u_w)) reaches the
      threshold; mean CE of f on both strong views. τ adapts (:class:`AdaptiveAdjustment`) to how far the
      pool's class distribution, estimated from g's confident predictions, is from π, uniform and π
      reversed: consistent pools get a small adjustment, uniform or reversed ones a large one.
    - L_u^b: the same with f(u_w) − A(τ_12) and g's own confidence, trained on g(u_s).

    The estimate starts at ``est_start`` of training and τ is re-chosen every ``tau_every`` of training
    (the code: epoch 5 of 500, every epoch). The paper's estimate counts g's confident predictions; the
    authors' code writes ``now_mask[pred] += 1`` with repeated classes, which counts each class at most
    once per batch: here the histogram counts them all, as the paper describes. Under DDP the estimate
    follows the global batch (``ctx.dist``).

    Config (code defaults): ``threshold``=0.95, ``tau1``=2 (τ_max; τ_min=0), ``tau12``=2, ``tau2``=2,
    ``ema_u``=0.9, ``est_start``=0.01, ``tau_every``=0.002.
    """

    paper = "Wei & Gan 2023, https://arxiv.org/abs/2306.09200"
    unlabeled_views = ("weak", "strong", "strong")
    contract_overrides = {"threshold": 0.0, "est_start": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        tau1: float = 2.0
        tau12: float = 2.0
        tau2: float = 2.0
        ema_u: float = 0.9
        est_start: float = 0.01
        tau_every: float = 0.002

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if not (0.0 <= cfg.est_start <= 1.0 and 0.0 < cfg.tau_every <= 1.0):
            raise ValueError(f"acr needs est_start in [0, 1] and tau_every in (0, 1], got {cfg}")
        self.counts = LabeledClassCounts(num_classes)
        self.adjust = AdaptiveAdjustment(num_classes, cfg.ema_u, 0.0, cfg.tau1)
        self._head: list[DualHeadClassifier] = []  # a plain list: the head belongs to the model, not here

    def attach(self, model) -> None:
        self._head = [add_dual_head(model)]

    def meta(self) -> dict[str, bool]:
        return {"dual_head": True}

    def observe_labels(self, y_lb: Tensor) -> None:
        self.counts.set(y_lb)

    def training_step(self, model, batch, ctx: StepContext):
        C, prior = self.num_classes, self.counts.prior()
        with both_heads(self._head[0]):
            logits_x, logits_w, logits_s1, logits_s2 = (
                t.float() for t in forward_cat(model, batch.x_lb, *batch.u_views)
            )
        f_w, g_w = logits_w.detach()[:, :C], logits_w.detach()[:, C:]
        f_s, g_s = (
            torch.cat([logits_s1[:, :C], logits_s2[:, :C]]),
            torch.cat([logits_s1[:, C:], logits_s2[:, C:]]),
        )
        sup_loss = F.cross_entropy(logits_x[:, :C], batch.y_lb)
        sup_loss_b = F.cross_entropy(logits_x[:, C:] + logit_adjustment(prior, self.cfg.tau2), batch.y_lb)

        pseudo, mask = debiased_pseudo_labels(
            f_w, logit_adjustment(prior, self.adjust.tau), self.cfg.threshold
        )
        unsup_loss = (F.cross_entropy(f_s, pseudo.repeat(2), reduction="none") * mask.repeat(2)).mean()
        conf_h2, pseudo_b = torch.softmax(f_w - logit_adjustment(prior, self.cfg.tau12), dim=-1).max(dim=-1)
        conf_g, pred_g = torch.softmax(g_w, dim=-1).max(dim=-1)
        mask_b = ((conf_h2 >= self.cfg.threshold) | (conf_g >= self.cfg.threshold)).float()
        unsup_loss_b = (F.cross_entropy(g_s, pseudo_b.repeat(2), reduction="none") * mask_b.repeat(2)).mean()

        if ctx.progress >= self.cfg.est_start:
            gather = ctx.dist.all_gather
            self.adjust.update(gather(pred_g), gather(conf_g >= self.cfg.threshold), prior)
            every = max(1, math.ceil(self.cfg.tau_every * ctx.total_steps))
            if (ctx.step + 1) % every == 0:
                self.adjust.step_tau()

        loss = sup_loss + unsup_loss + sup_loss_b + unsup_loss_b
        logs = ssl_logs(
            sup_loss + sup_loss_b,
            unsup_loss + unsup_loss_b,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            tau=self.adjust.tau.clone(),
        )
        return loss, logs
