"""ReMixMatch: MixMatch with distribution alignment, augmentation anchoring and a rotation task.

Berthelot et al., "ReMixMatch: Semi-Supervised Learning with Distribution Alignment and Augmentation
Anchoring", ICLR 2020. https://arxiv.org/abs/1911.09785
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.components.aux_heads import AuxHeadsState, rotation_head, takes_images
from semisup.components.distribution_window import ClassDistributionWindow, align_distribution
from semisup.components.rotation import random_rotation
from semisup.losses import linear_ramp, mixup, sharpen, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("remixmatch")
class ReMixMatch(AuxHeadsState, Algorithm):
    """loss = mean_{X'} H(p', p(x')) + w(t)·(λ_U mean_{U'} H(q', p(u')) + λ_Û1 mean_b H(q, p(û_1)))
    + λ_r mean_b H(r, p_rot(rot_r û_1)) (paper Algorithm 1 and §3.3).

    - Distribution alignment: q = Sharpen(Normalize(p(u_w) · p(y) / p̃(y)), T) from one weak view; p̃(y)
      is the mean prediction on the unlabeled batches of the last ``window`` steps and p(y) the labeled
      class marginal, estimated from the labeled batches of the same window (both
      :class:`~semisup.components.distribution_window.ClassDistributionWindow`, updated after use, from
      the global batch under DDP).
    - Augmentation anchoring: the K strong views û_1..û_K all take the weak view's q.
    - MixUp: the labeled batch (strong views, one-hot labels) and the K strong views (with q) are mixed
      with partners drawn from their concatenation, λ' = max(λ, 1 − λ) per row, as in MixMatch.
    - Pre-mixup loss: H(q, p(û_1)) on the unmixed first strong view.
    - Rotation: û_1 turned by r uniform in {0°, 90°, 180°, 270°} (0°/180° for non-square images), a
      linear head on the net's features predicts r. Images only: for other data kinds the term is dropped.
      The head lives on the net (``aux_heads``); the saved model is the plain classifier.

    Where the authors' code and USB differ, this follows the paper: labeled examples take the strong view
    (Algorithm 1; USB: weak), Û holds the K strong views only (the authors' code mixes the weak one too),
    K=8 (USB: 2), cross-entropy on U'. The authors' code rotates fixed quarters of the batch.

    Config (paper defaults): ``K``=8, ``T``=0.5, ``alpha``=0.75, ``lambda_u`` λ_U=1.5, ``lambda_u1``
    λ_Û1=0.5, ``lambda_rot`` λ_r=0.5, ``rampup``=1/64 of training for w(t) (the code's 1,024 of 65,536
    kimg), ``window``=128 batches. μ=1 (64 labeled and 64 unlabeled examples per batch).
    """

    paper = "Berthelot et al. 2020, https://arxiv.org/abs/1911.09785"
    labeled_view = "strong"
    unlabeled_views = ("weak",) + ("strong",) * 8
    default_mu = 1
    # Without MixUp the supervised term does not depend on the unlabeled views (the contract checks this).
    contract_overrides = {"alpha": 0.0, "rampup": 0.0}

    @dataclass
    class Config:
        K: int = 8
        T: float = 0.5
        alpha: float = 0.75
        lambda_u: float = 1.5
        lambda_u1: float = 0.5
        lambda_rot: float = 0.5
        rampup: float = 1 / 64
        window: int = 128

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        if isinstance(cfg.K, bool) or not isinstance(cfg.K, int) or cfg.K < 1:
            raise ValueError(f"remixmatch.K must be an int >= 1, got {cfg.K!r}")
        for name in ("alpha", "lambda_u", "lambda_u1", "lambda_rot", "rampup"):
            if not getattr(cfg, name) >= 0:
                raise ValueError(f"remixmatch.{name} must be >= 0, got {getattr(cfg, name)}")
        self.unlabeled_views = ("weak",) + ("strong",) * cfg.K
        self.p_model = ClassDistributionWindow(num_classes, cfg.window)  # p̃(y)
        self.p_data = ClassDistributionWindow(num_classes, cfg.window)  # p(y)

    def attach(self, model: nn.Module) -> None:
        if self.cfg.lambda_rot > 0 and takes_images(model):
            self.attach_heads(model, {"rotation": rotation_head(hidden=False)})

    @torch.no_grad()
    def guess_label(self, model, u_w: torch.Tensor, y_lb: torch.Tensor, ctx: StepContext) -> torch.Tensor:
        """q (μB, C): the weak view's prediction aligned to p(y) and sharpened; then the windows move."""
        probs = torch.softmax(model(u_w).float(), -1)
        q = sharpen(align_distribution(probs, self.p_data.mean(), self.p_model.mean()), self.cfg.T)
        self.p_model.update(ctx.dist.all_gather(probs))
        self.p_data.update(ctx.dist.all_gather(F.one_hot(y_lb, self.num_classes).float()))
        return q

    def training_step(self, model, batch, ctx: StepContext):
        u_w, *u_s = batch.u_views
        n_lb, K = batch.n_lb, len(u_s)
        q = self.guess_label(model, u_w, batch.y_lb, ctx)

        x_all = torch.cat([batch.x_lb, *u_s])
        y_all = torch.cat([F.one_hot(batch.y_lb, self.num_classes).to(q.dtype), q.repeat(K, 1)])
        x_mixed, y_mixed, _, _ = mixup(x_all, y_all, self.cfg.alpha, max_lam=True, per_example=True)
        rotating = bool(self._aux)
        rot_x, rot_k = random_rotation(u_s[0]) if rotating else (None, None)
        xs = (x_mixed, u_s[0]) + ((rot_x,) if rot_x is not None else ())
        logits = forward_cat(model, *xs)
        logits_mixed, logits_u1 = logits[0].float(), logits[1].float()

        sup_loss = soft_cross_entropy(logits_mixed[:n_lb], y_mixed[:n_lb]).mean()
        unsup_loss = soft_cross_entropy(logits_mixed[n_lb:], y_mixed[n_lb:]).mean()
        premix_loss = soft_cross_entropy(logits_u1, q).mean()
        ramp = linear_ramp(ctx.progress, 0.0, self.cfg.rampup) if self.cfg.rampup > 0 else 1.0
        weight = self.cfg.lambda_u * ramp
        loss = sup_loss + weight * unsup_loss + self.cfg.lambda_u1 * ramp * premix_loss
        extra: dict[str, torch.Tensor | float] = {"unsup_weight": weight, "premix_loss": premix_loss.detach()}
        if rotating:
            z_rot = self.heads.take_features().split([x.shape[0] for x in xs])[2]
            rot_loss = F.cross_entropy(self.heads["rotation"](z_rot).float(), rot_k)
            loss = loss + self.cfg.lambda_rot * rot_loss
            extra["rot_loss"] = rot_loss.detach()
        return loss, ssl_logs(sup_loss, unsup_loss, pseudo=q.argmax(-1), u_true=batch.u_true, **extra)
