"""ABC on FixMatch: an auxiliary balanced classifier, trained on class-balancing Bernoulli masks.

Lee, Shin & Kim, "ABC: Auxiliary Balanced Classifier for Class-imbalanced Semi-supervised Learning",
NeurIPS 2021. https://arxiv.org/abs/2110.10368 (authors' code https://github.com/LeeHyuck/ABC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.components.class_prior import LabeledClassCounts
from semisup.losses import confidence_mask, masked_mean
from semisup.nets.dual_head import DualHeadClassifier, add_dual_head, both_heads
from semisup.registry import ALGORITHMS


def abc_mask_probability(min_ratio: Tensor, classes: Tensor, progress: float | None = None) -> Tensor:
    """P(M_b = 1) for examples of ``classes`` (B,): N_min / N_c for labeled examples (``progress`` None),
    and 1 − progress · (1 − N_min / N_ĉ) for unlabeled ones pseudo-labeled ĉ, decaying from 1 at the
    start of training to N_min / N_ĉ at its end (paper §3.3, authors' code). ``min_ratio`` (C,) N_min/N_c."""
    if progress is None:
        return min_ratio[classes]
    return (1.0 - progress * (1.0 - min_ratio))[classes]


@ALGORITHMS.register("abc")
class ABC(Algorithm):
    """loss = L_FixMatch(f) + λ_abc · (L_cls + L_con) on a net with a standard head f and the ABC head g.

    f trains as FixMatch (threshold τ). g (:mod:`semisup.nets.dual_head`, which also predicts) trains on
    the same features with masks that balance the classes:

        L_cls = mean_b M_b · CE(g(x_b), y_b),                          M_b ~ Bernoulli(N_min / N_{y_b})
        L_con = mean_b M_b^u · 1(max q_b ≥ τ_abc) · CE(g(u_s,b), q̂_b),  q_b = softmax(g(u_w,b))

    with M_b^u ~ Bernoulli(1 − t/T · (1 − N_min / N_{q̂_b})) (:func:`abc_mask_probability`). The masks are
    drawn from a generator seeded by the algorithm's seed and the step, as one draw over the global batch
    of which each DDP rank takes its slice, so W processes draw what one process would.

    Config (paper defaults): ``threshold`` τ=0.95, ``lambda_u``=1, ``abc_threshold`` τ_abc=0.95,
    ``lambda_abc``=1.
    """

    paper = "Lee et al. 2021, https://arxiv.org/abs/2110.10368"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0, "abc_threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        abc_threshold: float = 0.95
        lambda_abc: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        self.counts = LabeledClassCounts(num_classes)
        self.mask_seed = int(torch.randint(0, 2**62, ()))  # from the run's seed: the same on every rank
        self._head: list[DualHeadClassifier] = []  # a plain list: the head belongs to the model, not here

    def attach(self, model) -> None:
        self._head = [add_dual_head(model)]

    def meta(self) -> dict[str, bool]:
        return {"dual_head": True}

    def observe_labels(self, y_lb: Tensor) -> None:
        self.counts.set(y_lb)

    def get_extra_state(self) -> Any:
        return {"mask_seed": self.mask_seed}

    def set_extra_state(self, state: Any) -> None:
        self.mask_seed = int(state["mask_seed"])

    def _uniform(self, gen: torch.Generator, n: int, ctx: StepContext, device: torch.device) -> Tensor:
        """This rank's slice of one draw of U(0, 1) over the global batch (W · n values)."""
        u = torch.rand(ctx.dist.world_size * n, generator=gen, device=device)
        return u[ctx.dist.rank * n : (ctx.dist.rank + 1) * n]

    def training_step(self, model, batch, ctx: StepContext):
        C = self.num_classes
        u_w, u_s = batch.u_views
        with both_heads(self._head[0]):
            logits_x, logits_w, logits_s = (t.float() for t in forward_cat(model, batch.x_lb, u_w, u_s))
        sup_loss = F.cross_entropy(logits_x[:, :C], batch.y_lb)
        pseudo, mask = confidence_mask(torch.softmax(logits_w[:, :C].detach(), dim=-1), self.cfg.threshold)
        unsup_loss = masked_mean(F.cross_entropy(logits_s[:, :C], pseudo, reduction="none"), mask)

        ratio = self.counts.min_ratio()
        gen = torch.Generator(device=logits_x.device).manual_seed(self.mask_seed + ctx.step)
        draw_lb = self._uniform(gen, batch.n_lb, ctx, logits_x.device)
        draw_ulb = self._uniform(gen, batch.n_ulb, ctx, logits_x.device)
        mask_lb = (draw_lb < abc_mask_probability(ratio, batch.y_lb)).float()
        q_max, q_hat = torch.softmax(logits_w[:, C:].detach(), dim=-1).max(dim=-1)
        keep_u = draw_ulb < abc_mask_probability(ratio, q_hat, ctx.progress)
        mask_ulb = ((q_max >= self.cfg.abc_threshold) & keep_u).float()
        abc_cls = masked_mean(F.cross_entropy(logits_x[:, C:], batch.y_lb, reduction="none"), mask_lb)
        abc_con = masked_mean(F.cross_entropy(logits_s[:, C:], q_hat, reduction="none"), mask_ulb)
        abc_loss = abc_cls + abc_con

        loss = sup_loss + self.cfg.lambda_u * unsup_loss + self.cfg.lambda_abc * abc_loss
        logs = ssl_logs(
            sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true, abc_loss=abc_loss.detach()
        )
        return loss, logs
