"""SoftMatch: FixMatch with a soft confidence weight (a truncated Gaussian) instead of a hard mask.

Chen et al., "SoftMatch: Addressing the Quantity-Quality Trade-off in Semi-supervised Learning",
ICLR 2023. https://arxiv.org/abs/2301.10921
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, ssl_logs, weak_strong_forward
from semisup.components import DistributionAlignment, TruncatedGaussianWeights
from semisup.losses import masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("softmatch")
class SoftMatch(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ λ(UA(p_b)) · CE(argmax p_b, p(u_s)) ], p_b = p(u_w).

    λ(p) = λ_max · exp(−(max p − μ_t)² / (2σ_t²)) for max p < μ_t, else λ_max, with μ_t, σ_t² EMAs
    (momentum m) of the mean and variance of max p over unlabeled batches
    (:class:`~semisup.components.TruncatedGaussianWeights`). Uniform alignment UA(p) =
    Normalize(p · u(C) / p̂), p̂ an EMA of the batch-mean weak-view prediction
    (:class:`~semisup.components.DistributionAlignment`), gives weakly-learned classes larger weights.
    As in the authors' code, UA enters only the weights and their statistics; the pseudo-label is the
    argmax of the unaligned p. Each step updates the EMAs (from the global batch under DDP,
    ``ctx.dist``) before weighting. ``train/mask_ratio`` is the mean weight; ``train/threshold_mean``
    and ``train/threshold_std`` are μ_t and σ_t.

    Config (paper defaults): ``momentum`` m=0.999, ``lambda_max`` λ_max=1, ``lambda_u``=1,
    ``uniform_alignment``=True, ``n_sigma``=1 (the Gaussian's width is σ_t/n_sigma; the paper's formula
    is 1, USB's code uses 2), ``hard_label``=True, ``T``=1 (for soft pseudo-labels only).
    """

    paper = "Chen et al. 2023, https://arxiv.org/abs/2301.10921"
    unlabeled_views = ("weak", "strong")

    @dataclass
    class Config:
        momentum: float = 0.999
        lambda_max: float = 1.0
        lambda_u: float = 1.0
        uniform_alignment: bool = True
        n_sigma: float = 1.0
        hard_label: bool = True
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        self.weighting = TruncatedGaussianWeights(num_classes, cfg.momentum, cfg.lambda_max, cfg.n_sigma)
        self.alignment = DistributionAlignment(num_classes, cfg.momentum) if cfg.uniform_alignment else None

    def training_step(self, model, batch, ctx: StepContext):
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)
        probs = torch.softmax(logits_u_w, dim=-1)
        pseudo = probs.argmax(dim=-1)
        aligned = probs
        if self.alignment is not None:
            self.alignment.update(ctx.dist.all_gather(probs))  # EMAs of the global batch
            aligned = self.alignment.align(probs)
        confidence = aligned.max(dim=-1).values
        self.weighting.update(ctx.dist.all_gather(confidence))
        weight = self.weighting(confidence)

        target = pseudo_label_target(logits_u_w, pseudo, self.cfg.hard_label, self.cfg.T)
        unsup_loss = masked_mean(soft_cross_entropy(logits_u_s, target), weight)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=weight,
            pseudo=pseudo,
            u_true=batch.u_true,
            threshold_mean=self.weighting.mu.clone(),
            threshold_std=self.weighting.var.sqrt(),
        )
        return loss, logs
