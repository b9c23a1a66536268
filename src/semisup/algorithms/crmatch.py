"""CRMatch: FixMatch's output consistency, feature-level equivariance (FeatDistLoss) and rotation.

Fan, Kukleva, Dai, Schiele, "Revisiting Consistency Regularization for Deep Semi-supervised Learning",
GCPR 2021 / IJCV 2023. https://arxiv.org/abs/2112.05825
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.components.aux_heads import AuxHeadsState, rotation_head, takes_images
from semisup.components.rotation import all_rotations
from semisup.losses import confidence_mask, masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("crmatch")
class CRMatch(AuxHeadsState, Algorithm):
    """loss = CE(x_lb) + λ_u · L_u + λ_d · L_d + λ_rot · L_rot.

    - L_u = mean_b[ 1(max p(u_w) ≥ τ) · CE(argmax p(u_w), p(u_s)) ]: FixMatch on the outputs.
    - L_d = mean_b[ 1(max p(u_w) ≥ τ) · max(0, cos(h(z_s), h(z_w))) ], FeatDistLoss: z_v are the net's
      features of view v and h a linear head (d → d). Minimising the cosine similarity pushes the two
      views' features apart (equivariance) while L_u keeps their predictions equal: the paper finds this
      beats pulling features together. USB's form (cosine embedding loss with target −1).
    - L_rot = CE(r, g(z(rot_r u_w))) over the first B weak unlabeled views shown at each rotation r
      (0°, 90°, 180°, 270°; 0° and 180° for non-square images), g a Linear-ReLU-Linear head: rotation
      prediction as the self-supervised task. Images only: for other data kinds the term is dropped.

    The paper's h reads the flattened feature map; the nets here expose pooled features, so h reads
    those (as USB does for its transformer backbones). h and g live on the net (``aux_heads``), trained
    with it; the saved model is the plain classifier and the checkpoint's algorithm state carries h and g.
    No state across steps: DDP needs no collective.

    Config (USB's defaults): ``threshold`` τ=0.95, ``lambda_u``=1, ``lambda_d``=1, ``lambda_rot``=1
    (0 drops the rotation head), ``hard_label``=True, ``T``=1 (soft pseudo-labels only).
    """

    paper = "Fan et al. 2023, https://arxiv.org/abs/2112.05825"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        lambda_d: float = 1.0
        lambda_rot: float = 1.0
        hard_label: bool = True
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        for name in ("lambda_u", "lambda_d", "lambda_rot"):
            if not getattr(cfg, name) >= 0:
                raise ValueError(f"crmatch.{name} must be >= 0, got {getattr(cfg, name)}")

    def attach(self, model: nn.Module) -> None:
        heads = {"feature_dist": lambda d: nn.Linear(d, d)}
        if self.cfg.lambda_rot > 0 and takes_images(model):
            heads["rotation"] = rotation_head(hidden=True)
        self.attach_heads(model, heads)

    def training_step(self, model, batch, ctx: StepContext):
        u_w, u_s = batch.u_views
        rotating = "rotation" in self.heads
        extra = all_rotations(u_w[: batch.n_lb]) if rotating else None
        xs = (batch.x_lb, u_w, u_s) + ((extra[0],) if extra is not None else ())
        logits = forward_cat(model, *xs)
        z = self.heads.take_features().float().split([x.shape[0] for x in xs])
        logits_x, logits_w, logits_s = (t.float() for t in logits[:3])
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)

        target_w = logits_w.detach()
        pseudo, mask = confidence_mask(torch.softmax(target_w, -1), self.cfg.threshold)
        target = pseudo_label_target(target_w, pseudo, self.cfg.hard_label, self.cfg.T)
        unsup_loss = masked_mean(soft_cross_entropy(logits_s, target), mask)
        h = self.heads["feature_dist"]
        dist_loss = masked_mean(F.cosine_similarity(h(z[2]), h(z[1]), dim=-1).clamp_min(0), mask)
        loss = sup_loss + self.cfg.lambda_u * unsup_loss + self.cfg.lambda_d * dist_loss
        logs: dict[str, Any] = {"dist_loss": dist_loss.detach()}
        if extra is not None:
            rot_loss = F.cross_entropy(self.heads["rotation"](z[3]), extra[1])
            loss = loss + self.cfg.lambda_rot * rot_loss
            logs["rot_loss"] = rot_loss.detach()
        return loss, ssl_logs(sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true, **logs)
