"""Dash: FixMatch whose unlabeled examples are selected by a loss threshold that decays over training.

Xu et al., "Dash: Semi-Supervised Learning with Dynamic Thresholding", ICML 2021.
https://arxiv.org/abs/2109.00650
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.components import DecayingLossThreshold
from semisup.losses import masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("dash")
class Dash(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(ℓ_b ≤ ρ_t) · CE(ŷ_b, p(u_s)) ],  ℓ_b = CE(ŷ_b, p(u_w)).

    ŷ_b = argmax p(u_w)_b, the pseudo-label; ℓ_b its loss on the weak view itself.

    Two stages (paper Algorithm 1). Warm-up: the first ``warmup`` of training uses the labeled batch
    only (no unlabeled forward pass). Selection: at the first step after it, ρ̂ is set to the mean
    labeled loss of the warmed-up model (over the global batch under DDP) and kept as a buffer; then
    ρ_t = max(C γ^{−(t−1)} ρ̂, ρ_min) with stage t = 1 + ⌊(step − warm-up steps) / (``decay_every`` ·
    steps)⌋ (:class:`~semisup.components.DecayingLossThreshold`). With hard pseudo-labels ℓ_b = −log max
    p(u_w)_b, so the rule keeps confidences ≥ exp(−ρ_t), a bar that rises over training.

    Choices where the paper leaves the engine's terms open, and where USB differs: the schedule is given as
    fractions of training (USB: 2,048 warm-up steps and a new stage every 10 of 1,024 epochs of its 2^20
    steps, which is what the defaults are); ρ̂ comes from a labeled training batch (USB evaluates it on
    its evaluation set, i.e. test data); pseudo-labels stay hard throughout, as in the FixMatch pipeline
    the paper builds on (USB uses T = 0.5 soft labels until ρ_t reaches ρ_min). ρ_min = 0.05 is USB's
    floor: without one the threshold decays to 0 and no example passes.

    Config: ``C``=1.0001, ``gamma`` γ=1.27 (paper), ``rho_min``=0.05, ``warmup``=2048/2^20,
    ``decay_every``=10/1024, ``lambda_u``=1, ``hard_label``=True, ``T``=0.5 (soft labels only).
    """

    paper = "Xu et al. 2021, https://arxiv.org/abs/2109.00650"
    unlabeled_views = ("weak", "strong")
    # Stage 1 with ρ = 2ρ̂ for the whole run: an untrained net's unlabeled losses pass.
    contract_overrides = {"decay_every": 1.0, "C": 2.0}

    @dataclass
    class Config:
        C: float = 1.0001
        gamma: float = 1.27
        rho_min: float = 0.05
        warmup: float = 2048 / 2**20
        decay_every: float = 10 / 1024
        lambda_u: float = 1.0
        hard_label: bool = True
        T: float = 0.5

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        for name in ("warmup", "decay_every"):
            if not 0.0 <= getattr(cfg, name) <= 1.0:
                raise ValueError(
                    f"dash.{name} must be in [0, 1] (a fraction of training), got {getattr(cfg, name)}"
                )
        self.loss_threshold = DecayingLossThreshold(cfg.C, cfg.gamma, cfg.rho_min)

    def stage(self, ctx: StepContext) -> int | None:
        """The selection stage t ≥ 1 of this step, None during the warm-up."""
        n_warm = round(self.cfg.warmup * ctx.total_steps)
        if ctx.step < n_warm:
            return None
        return 1 + (ctx.step - n_warm) // max(1, round(self.cfg.decay_every * ctx.total_steps))

    def training_step(self, model, batch, ctx: StepContext):
        stage = self.stage(ctx)
        if stage is None:  # warm-up: supervised only
            sup_loss = F.cross_entropy(model(batch.x_lb), batch.y_lb)
            zero = torch.zeros((), device=sup_loss.device)
            return sup_loss, ssl_logs(sup_loss, zero, mask=zero, rho=zero)
        u_w, u_s = batch.u_views
        logits_x, logits_u_w, logits_u_s = forward_cat(model, batch.x_lb, u_w, u_s)
        ce_lb = F.cross_entropy(logits_x, batch.y_lb, reduction="none")
        sup_loss = ce_lb.mean()
        self.loss_threshold.estimate(ctx.dist.all_gather(ce_lb))  # once: the first step after warm-up

        logits_u_w = logits_u_w.detach().float()  # targets only
        pseudo = logits_u_w.argmax(dim=-1)
        target = pseudo_label_target(logits_u_w, pseudo, self.cfg.hard_label, self.cfg.T)
        mask = self.loss_threshold.mask(soft_cross_entropy(logits_u_w, target), stage)
        unsup_loss = masked_mean(soft_cross_entropy(logits_u_s.float(), target), mask)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            rho=self.loss_threshold.rho(stage),
        )
        return loss, logs
