"""OpenMatch: one-vs-all outlier detectors, open-set consistency, and FixMatch on the detected inliers.

Saito et al., "OpenMatch: Open-set Consistency Regularization for Semi-supervised Learning with
Outliers", NeurIPS 2021. https://arxiv.org/abs/2105.14148 (official code: VisionLearningGroup/OP_Match)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.losses.open_set import ova_entropy, ova_loss, ova_probs, socr_loss
from semisup.nets.open_set_head import OpenSetHead, attach_open_set_head
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("openmatch")
class OpenMatch(Algorithm):
    """loss = CE(x_lb) + L_ova(x_lb) + λ_em · L_em(u) + λ_socr · L_socr(u₁, u₂) + L_fix(inliers).

    ``attach`` puts K one-vs-all (OVA) detector heads beside the classifier (``OpenSetHead`` kind
    ``"ova"``, 2K logits on the same features), so the model, its EMA and its checkpoint carry them and a
    loaded run scores inputs as unknown (the OVA outlier probability of the predicted class; "unknown"
    above 0.5). Terms, in the paper's order:

    - L_ova (Eq. 1): the true class's head says "inlier", the hardest other head "outlier".
    - L_em (Eq. 2): entropy of every OVA head on both weak views of every unlabeled example.
    - L_socr (Eq. 3): squared difference of the OVA probabilities of the two weak views.
    - L_fix: FixMatch (weak → strong, confidence threshold ``threshold``) on the unlabeled examples
      the detector calls inliers (outlier probability of their predicted class < ``inlier_threshold``),
      averaged over those examples as over the paper's batch of selected inliers; it starts after
      ``fix_start`` of training (the paper: epoch 10 of 512).

    Deviation, because the loop draws one unlabeled batch per step: the paper re-selects inliers over
    the whole pool once per epoch with the EMA model and draws FixMatch's batch from them; here each
    step's first weak view selects its own inliers with the training model, by the same rule. The
    labeled terms use one weak view (the official code's ``inputs_x``). Under DDP the FixMatch average
    divides by the inliers of the global batch (``ctx.dist``), so W processes train as one would.

    Config (paper defaults): ``lambda_em``=0.1, ``lambda_socr``=0.5 (CIFAR-10; 1.0 for CIFAR-100),
    ``threshold``=0.0, ``inlier_threshold``=0.5, ``fix_start``=10/512, ``T``=1; μ=2 (the official
    scripts).
    """

    paper = "Saito et al. 2021, https://arxiv.org/abs/2105.14148"
    unlabeled_views = ("weak", "weak", "strong")
    default_mu = 2
    contract_overrides = {"inlier_threshold": 1.0, "fix_start": 0.0}

    @dataclass
    class Config:
        lambda_em: float = 0.1
        lambda_socr: float = 0.5
        threshold: float = 0.0
        inlier_threshold: float = 0.5
        fix_start: float = 10 / 512
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        for name in ("threshold", "inlier_threshold", "fix_start"):
            if not 0.0 <= getattr(cfg, name) <= 1.0:
                raise ValueError(f"openmatch.{name} must be in [0, 1], got {getattr(cfg, name)}")
        if cfg.T <= 0 or cfg.lambda_em < 0 or cfg.lambda_socr < 0:
            raise ValueError(f"openmatch needs T > 0 and lambdas >= 0, got {cfg}")
        # The head lives in the model (so it is trained, averaged and saved with it); a plain reference
        # here, not a submodule, so the algorithm's state_dict does not hold the weights a second time.
        self._head: list[OpenSetHead] = []

    def attach(self, model: nn.Module) -> None:
        self._head = [attach_open_set_head(model, "ova", self.num_classes)]

    def meta(self) -> dict[str, Any]:
        return {"open_set_head": self._head[0].meta()} if self._head else {}

    def training_step(self, model, batch, ctx: StepContext):
        u_w1, u_w2, u_s = batch.u_views
        head = self._head[0]
        logits_x, logits_w1, _, logits_s = forward_cat(model, batch.x_lb, u_w1, u_w2, u_s)
        sizes = [len(batch.x_lb), len(u_w1), len(u_w2), len(u_s)]
        ova_x, ova_w1, ova_w2, _ = head.open_logits.split(sizes)

        sup_loss = F.cross_entropy(logits_x, batch.y_lb) + ova_loss(ova_x, batch.y_lb)
        em_loss = (ova_entropy(ova_w1) + ova_entropy(ova_w2)) / 2
        l_socr = socr_loss(ova_w1, ova_w2)

        # FixMatch on the inliers: pseudo-labels and selection from the first weak view (targets only).
        probs = torch.softmax(logits_w1.detach().float() / self.cfg.T, dim=-1)
        conf, pseudo = probs.max(dim=-1)
        p_out = ova_probs(ova_w1.detach())[torch.arange(len(pseudo), device=pseudo.device), 0, pseudo]
        started = float(ctx.progress >= self.cfg.fix_start)
        mask = (p_out < self.cfg.inlier_threshold).float() * (conf >= self.cfg.threshold).float() * started
        # Averaged over the used examples of the global batch: DDP's mean of the ranks' losses is then
        # the one-process loss (sum over ranks / total count).
        n_used = ctx.dist.all_reduce(mask.sum(), "sum").clamp(min=1.0) / ctx.dist.world_size
        fix_loss = (F.cross_entropy(logits_s.float(), pseudo, reduction="none") * mask).sum() / n_used

        unsup_loss = self.cfg.lambda_em * em_loss + self.cfg.lambda_socr * l_socr + fix_loss
        loss = sup_loss + unsup_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            em_loss=em_loss.detach(),
            socr_loss=l_socr.detach(),
            fix_loss=fix_loss.detach(),
            inlier_ratio=(p_out < self.cfg.inlier_threshold).float().mean(),
        )
        return loss, logs
