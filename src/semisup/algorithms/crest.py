"""CReST+ on FixMatch: progressive distribution alignment of the pseudo-labels (one generation).

Wei et al., "CReST: A Class-Rebalancing Self-Training Framework for Imbalanced Semi-Supervised
Learning", CVPR 2021. https://arxiv.org/abs/2102.09559
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.algorithms.base import Algorithm, StepContext, ssl_logs, weak_strong_forward
from semisup.components import DistributionAlignment
from semisup.components.class_prior import LabeledClassCounts
from semisup.losses import confidence_mask, masked_mean
from semisup.registry import ALGORITHMS


def alignment_temperature(generation: int, num_generations: int, t_min: float) -> float:
    """t_g = 1 − g/(G − 1) · (1 − t_min): 1 in the first generation, t_min in the last (1 if G = 1)."""
    if num_generations == 1:
        return 1.0
    return 1.0 - generation / (num_generations - 1) * (1.0 - t_min)


def tempered_target(prior: Tensor, t: float) -> Tensor:
    """Normalize(π^t): the labeled distribution flattened towards uniform as t goes from 1 to 0."""
    p = prior.clamp_min(1e-12) ** t
    return p / p.sum()


@ALGORITHMS.register("crest")
class CReST(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(max p̃_b ≥ τ) · CE(argmax p̃_b, p(u_s)) ],  p̃_b = DA(p(u_w,b)).

    DA(p) = Normalize(p · Normalize(π^t) / p̂) (:class:`~semisup.components.DistributionAlignment`, p̂ an
    EMA of the mean weak-view prediction, updated before aligning), π the labeled class distribution and
    t = t_g the generation's temperature (:func:`alignment_temperature`): CReST+'s progressive alignment
    moves the target from π (t = 1) towards uniform (t_min) generation by generation.

    CReST's generations (each retrains from scratch on the labels plus the unlabeled examples its
    predecessor pseudo-labeled, the class predicted k keeping its most confident (N_{C+1−k}/N_1)^(1/α)
    share) are separate trainings: train generation g with ``algorithm.generation=g`` on an ``SSLDataset``
    whose ``y`` holds those added pseudo-labels (``semisup.fit(cfg, out, data=...)``; the previous run's
    ``semisup.load(run).predict_proba`` gives them). That sampling loop is not shipped here; one run with
    the defaults is the first generation: FixMatch with pseudo-labels aligned to π.

    Config (paper defaults): ``threshold`` τ=0.95, ``lambda_u``=1, ``momentum``=0.999 (p̂'s EMA),
    ``t_min``=0.5, ``generation``=0, ``num_generations``=6.
    """

    paper = "Wei et al. 2021, https://arxiv.org/abs/2102.09559"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        momentum: float = 0.999
        t_min: float = 0.5
        generation: int = 0
        num_generations: int = 6

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if cfg.num_generations < 1 or not 0 <= cfg.generation < cfg.num_generations:
            raise ValueError(
                f"crest.generation must be in 0..num_generations-1 (num_generations={cfg.num_generations}), "
                f"got {cfg.generation}"
            )
        if not 0.0 <= cfg.t_min <= 1.0:
            raise ValueError(f"crest.t_min must be in [0, 1], got {cfg.t_min}")
        self.t = alignment_temperature(cfg.generation, cfg.num_generations, cfg.t_min)
        self.counts = LabeledClassCounts(num_classes)
        self.align = DistributionAlignment(num_classes, cfg.momentum)

    def observe_labels(self, y_lb: Tensor) -> None:
        self.counts.set(y_lb)

    def training_step(self, model, batch, ctx: StepContext):
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)
        probs = torch.softmax(logits_u_w, dim=-1)
        self.align.p_target.copy_(tempered_target(self.counts.prior(), self.t))
        self.align.update(ctx.dist.all_gather(probs))  # p̂ follows the global batch
        pseudo, mask = confidence_mask(self.align.align(probs), self.cfg.threshold)
        unsup_loss = masked_mean(F.cross_entropy(logits_u_s, pseudo, reduction="none"), mask)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        return loss, ssl_logs(sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true)
