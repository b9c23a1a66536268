"""CReST+ on FixMatch: class-rebalancing self-training with progressive distribution alignment.

Wei et al., "CReST: A Class-Rebalancing Self-Training Framework for Imbalanced Semi-Supervised
Learning", CVPR 2021. https://arxiv.org/abs/2102.09559
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.components import DistributionAlignment
from semisup.components.class_prior import LabeledClassCounts
from semisup.components.rebalance import rebalanced_rates, select_pseudo_labeled
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
    """loss = CE(x_lb ∪ A_g) + λ_u · mean_b[ 1(max p̃_b ≥ τ) · CE(argmax p̃_b, p(u_s)) ],  p̃_b = DA_t(p(u_w,b)).

    Generation 0 (FixMatch with DA, training the first teacher) takes the first ``first_generation`` share
    of the run; generations 1..G−1 split the rest equally. At the start of generation g ≥ 1 the pool's
    latest weak-view predictions (a memory written from every batch) choose A_g: for each class k, the
    ``floor(μ_k · n_k)`` most confident examples predicted k (:func:`rebalanced_rates`, μ_k =
    (N_{C+1−r(k)}/N_1)^(1/α)), so rare classes gain more pseudo-labels than frequent ones. A_g joins the
    labeled set with its frozen pseudo-labels: whenever an example of A_g is in the unlabeled batch, its
    weak view adds a cross-entropy term to the supervised mean. DA_t(p) = Normalize(p · Normalize(π^t) /
    p̂) (:class:`~semisup.components.DistributionAlignment`, p̂ an EMA of the mean weak prediction), π the
    labeled class distribution, t = t_g (:func:`alignment_temperature`): CReST+'s progressive alignment
    from π towards uniform.

    The paper retrains every generation from scratch; here generations are periods of one run (the
    model carries over, A_g is re-chosen from its latest predictions, no extra pass over the pool), so
    G generations cost one training. Under DDP the memory follows the global batch: one A_g on all ranks.

    Config (paper defaults): ``threshold`` τ=0.95, ``lambda_u``=1, ``momentum``=0.999 (p̂'s EMA),
    ``t_min``=0.5, ``num_generations`` G=6, ``alpha``=3 (sampling exponent 1/α); ``first_generation``=0.5
    (ours: the paper's first teacher is a converged model, so generation 0 is half of the run).
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
        num_generations: int = 6
        alpha: float = 3.0
        first_generation: float = 0.5

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if cfg.num_generations < 1:
            raise ValueError(f"crest.num_generations must be >= 1, got {cfg.num_generations}")
        if not 0.0 <= cfg.t_min <= 1.0:
            raise ValueError(f"crest.t_min must be in [0, 1], got {cfg.t_min}")
        if not 0.0 <= cfg.first_generation < 1.0:
            raise ValueError(f"crest.first_generation must be in [0, 1), got {cfg.first_generation}")
        if not cfg.alpha > 0:
            raise ValueError(f"crest.alpha must be > 0, got {cfg.alpha}")
        self.counts = LabeledClassCounts(num_classes)
        self.align = DistributionAlignment(num_classes, cfg.momentum)
        n = max(1, n_unlabeled)
        self.register_buffer("pred", torch.zeros(n, dtype=torch.long))
        self.register_buffer("conf", torch.zeros(n))
        self.register_buffer("seen", torch.zeros(n, dtype=torch.bool))
        self.register_buffer("chosen", torch.zeros(n, dtype=torch.bool))
        self.register_buffer("chosen_label", torch.zeros(n, dtype=torch.long))
        self.register_buffer("generation", torch.zeros((), dtype=torch.long))
        self._last_g: int | None = None

    def observe_labels(self, y_lb: Tensor) -> None:
        self.counts.set(y_lb)

    def generation_at(self, progress: float) -> int:
        """0 during the first ``first_generation`` of training, then 1..G−1 in equal periods."""
        f, last = self.cfg.first_generation, self.cfg.num_generations - 1
        return 0 if progress < f or last == 0 else min(last, 1 + int((progress - f) / (1 - f) * last))

    @torch.no_grad()
    def start_generation(self, g: int) -> None:
        """Choose A_g from the memory: its members keep the predicted class as their label."""
        rates = rebalanced_rates(self.counts.counts, self.cfg.alpha)
        self.chosen.copy_(select_pseudo_labeled(self.pred, self.conf, self.seen, rates))
        self.chosen_label.copy_(self.pred)
        self.generation.fill_(g)

    def training_step(self, model, batch, ctx: StepContext):
        if batch.u_index is None:
            raise ValueError("crest keeps per-example state: the batch needs u_index")
        g = self.generation_at(ctx.progress)
        if g != self._last_g:  # the buffer is read on the host only when the generation may change
            if g > int(self.generation):
                self.start_generation(g)
            self._last_g = g
        u_w, u_s = batch.u_views
        logits_x, logits_w, logits_u_s = forward_cat(model, batch.x_lb, u_w, u_s)
        logits_u_w, logits_u_s = logits_w.detach().float(), logits_u_s.float()

        # A_g's members in this batch count as labeled examples, labeled with their frozen pseudo-label
        idx = batch.u_index
        added = self.chosen[idx].float()  # a mask, not an index: no host sync
        ce_lb = F.cross_entropy(logits_x.float(), batch.y_lb, reduction="sum")
        ce_added = (F.cross_entropy(logits_w.float(), self.chosen_label[idx], reduction="none") * added).sum()
        sup_loss = (ce_lb + ce_added) / (batch.n_lb + added.sum())

        probs = torch.softmax(logits_u_w, dim=-1)
        t = alignment_temperature(g, self.cfg.num_generations, self.cfg.t_min)
        self.align.p_target.copy_(tempered_target(self.counts.prior(), t))
        self.align.update(ctx.dist.all_gather(probs))  # p̂ follows the global batch
        pseudo, mask = confidence_mask(self.align.align(probs), self.cfg.threshold)
        unsup_loss = masked_mean(F.cross_entropy(logits_u_s, pseudo, reduction="none"), mask)

        with torch.no_grad():  # the memory of the pool's latest predictions (raw, not aligned)
            conf, pred = ctx.dist.all_gather(probs).max(dim=-1)
            gidx = ctx.dist.all_gather(idx)
            self.pred[gidx], self.conf[gidx], self.seen[gidx] = pred, conf, True

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        added_share = self.chosen.float().mean()  # |A_g| / N
        return loss, ssl_logs(
            sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true, crest_added=added_share
        )
