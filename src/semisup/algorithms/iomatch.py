"""IOMatch: closed-set and multi-binary classifiers make (K+1)-way targets for every unlabeled example.

Li et al., "IOMatch: Simplifying Open-Set Semi-Supervised Learning with Joint Inliers and Outliers
Utilization", ICCV 2023. https://arxiv.org/abs/2308.13168 (official code: nukezil/IOMatch; not in USB)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.components.distribution_window import ClassDistributionWindow
from semisup.losses import soft_cross_entropy
from semisup.losses.open_set import open_set_targets, ova_loss
from semisup.nets.open_set_head import OpenSetHead, attach_open_set_head
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("iomatch")
class IOMatch(Algorithm):
    """loss = CE(x_lb) + λ_mb · L_mb(x_lb) + λ_u · L_ui + λ_op · L_op.

    ``attach`` adds, beside the K-way classifier φ, a projection MLP with a multi-binary classifier ψ
    (K one-vs-all heads) and an open-set classifier ξ ((K+1)-way, the last class "outlier")
    (``OpenSetHead`` kind ``"iomatch"``); a loaded run scores inputs as unknown by ξ's outlier
    probability ("unknown" above 0.5). On the weak view u_w of every unlabeled example:

    - p = DA(softmax φ(u_w)): distribution alignment to uniform over the last ``da_length`` batches.
    - open-set targets q = (p_1 o_1, ..., p_K o_K, Σ_k p_k (1 − o_k)), o_k = ψ_k's inlier probability.
    - L_ui: soft CE(p, φ(u_s)) where max p ≥ τ_p **and** q_{K+1} < 0.5 (the double filter: confident
      and not an outlier), averaged over μB.
    - L_op: soft CE(q, ξ(u_s)) where max q ≥ τ_q, on inliers and outliers alike (no detector
      filtering: the point of the paper), averaged over μB; off for the first ``op_start`` of training
      (the official code skips its first epoch of 256).
    - L_mb: OpenMatch's OVA loss on the labeled batch.

    Targets come from the weak view, detached. Under DDP the alignment queue takes the global batch's
    mean (``ctx.dist``). Config (the authors' defaults): ``p_threshold`` τ_p=0.95, ``q_threshold``
    τ_q=0.5, ``lambda_u``=1, ``lambda_mb``=1, ``lambda_op``=1, ``dist_align``=True, ``da_length``=128,
    ``proj_dim``=128, ``op_start``=1/256.
    """

    paper = "Li et al. 2023, https://arxiv.org/abs/2308.13168"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"p_threshold": 0.0, "q_threshold": 0.0}

    @dataclass
    class Config:
        p_threshold: float = 0.95
        q_threshold: float = 0.5
        lambda_u: float = 1.0
        lambda_mb: float = 1.0
        lambda_op: float = 1.0
        dist_align: bool = True
        da_length: int = 128
        proj_dim: int = 128
        op_start: float = 1 / 256

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        for name in ("p_threshold", "q_threshold", "op_start"):
            if not 0.0 <= getattr(cfg, name) <= 1.0:
                raise ValueError(f"iomatch.{name} must be in [0, 1], got {getattr(cfg, name)}")
        if cfg.da_length < 1 or cfg.proj_dim < 1:
            raise ValueError(
                f"iomatch.da_length and proj_dim must be >= 1, got {cfg.da_length}, {cfg.proj_dim}"
            )
        self.da = ClassDistributionWindow(num_classes, cfg.da_length)  # p̂: last da_length batch means
        self._head: list[OpenSetHead] = []  # in the model, not a submodule here (see OpenMatch)

    def attach(self, model: nn.Module) -> None:
        self._head = [attach_open_set_head(model, "iomatch", self.num_classes, self.cfg.proj_dim)]

    def meta(self) -> dict[str, Any]:
        return {"open_set_head": self._head[0].meta()} if self._head else {}

    def training_step(self, model, batch, ctx: StepContext):
        u_w, u_s = batch.u_views
        head = self._head[0]
        logits_x, logits_w, logits_s = forward_cat(model, batch.x_lb, u_w, u_s)
        mb, open_logits = head.split(head.open_logits)
        mb_x, mb_w, _ = mb.split([len(batch.x_lb), len(u_w), len(u_s)])
        open_s = open_logits[-len(u_s) :].float()

        sup_loss = F.cross_entropy(logits_x, batch.y_lb) + self.cfg.lambda_mb * ova_loss(mb_x, batch.y_lb)

        with torch.no_grad():
            p = torch.softmax(logits_w.detach().float(), dim=-1)
            if self.cfg.dist_align:
                self.da.update(ctx.dist.all_gather(p))  # the window follows the global batch
                # USB's DistAlignQueueHook, as the authors run it: p · (uniform + ε) / (p̂ + ε), normalised.
                p = p * (1.0 / self.num_classes + 1e-6) / (self.da.mean() + 1e-6)
                p = p / p.sum(dim=-1, keepdim=True)
            q = open_set_targets(p, mb_w)
            conf, pseudo = p.max(dim=-1)
            mask_ui = ((conf >= self.cfg.p_threshold) & (q[:, -1] < 0.5)).float()
            mask_op = (q.max(dim=-1).values >= self.cfg.q_threshold).float()
            mask_op = mask_op * float(ctx.progress >= self.cfg.op_start)
        ui_loss = (soft_cross_entropy(logits_s.float(), p) * mask_ui).mean()
        op_loss = (soft_cross_entropy(open_s, q) * mask_op).mean()

        unsup_loss = self.cfg.lambda_u * ui_loss + self.cfg.lambda_op * op_loss
        loss = sup_loss + unsup_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask_ui,
            pseudo=pseudo,
            u_true=batch.u_true,
            ui_loss=ui_loss.detach(),
            op_loss=op_loss.detach(),
            op_mask_ratio=mask_op.mean(),
            outlier_ratio=(q[:, -1] >= 0.5).float().mean(),
        )
        return loss, logs
