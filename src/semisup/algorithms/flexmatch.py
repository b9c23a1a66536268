"""FlexMatch: FixMatch with class-wise thresholds that follow each class's learning status.

Zhang et al., "FlexMatch: Boosting Semi-Supervised Learning with Curriculum Pseudo Labeling",
NeurIPS 2021. https://arxiv.org/abs/2110.08263
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, ssl_logs, weak_strong_forward
from semisup.components import ClasswiseLearningStatus
from semisup.losses import masked_mean, pseudo_label_target, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("flexmatch")
class FlexMatch(Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(max p(u_w) ≥ τ_c) · CE(argmax p(u_w), p(u_s)) ], c = argmax p(u_w).

    Curriculum pseudo-labeling: τ_c = M(β_c) · τ with M(x) = x/(2 − x), where β_c is the normalised
    number of unlabeled examples whose latest prediction above τ was class c
    (:class:`~semisup.components.ClasswiseLearningStatus`, one memory slot per unlabeled example,
    indexed by ``batch.u_index``). All thresholds start at 0 (nothing learned yet) and reach τ for a
    class once it is predicted confidently as often as the best-learned one (and, with the warm-up, as
    often as the examples not yet predicted confidently at all). The mask of a step uses the status
    from earlier steps; the step's confident predictions then update the memory, as in the authors'
    code. Under DDP the memory is updated from the global batch (``ctx.dist``): every rank holds the
    same memory, the one a single process with the whole batch would hold.

    Config (paper defaults): ``threshold`` τ=0.95, ``lambda_u`` λ_u=1, ``threshold_warmup``=True,
    ``hard_label``=True, ``T``=1 (temperature of soft pseudo-labels, used only if not hard).
    """

    paper = "Zhang et al. 2021, https://arxiv.org/abs/2110.08263"
    unlabeled_views = ("weak", "strong")

    @dataclass
    class Config:
        threshold: float = 0.95
        lambda_u: float = 1.0
        threshold_warmup: bool = True
        hard_label: bool = True
        T: float = 1.0

    def __init__(self, cfg: Config, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        self.status = ClasswiseLearningStatus(num_classes, n_unlabeled, cfg.threshold_warmup)

    def training_step(self, model, batch, ctx: StepContext):
        if batch.u_index is None:
            raise ValueError("flexmatch keeps per-example state: the batch needs u_index")
        sup_loss, logits_u_w, logits_u_s = weak_strong_forward(model, batch)
        max_p, pseudo = torch.softmax(logits_u_w, dim=-1).max(dim=-1)
        tau_c = self.status.thresholds(self.cfg.threshold)  # (C,) M(β_c)·τ
        mask = (max_p >= tau_c[pseudo]).float()
        # The memory follows every rank's batch: W processes advance the curriculum as one would.
        gather = ctx.dist.all_gather
        self.status.update(gather(batch.u_index), gather(pseudo), gather(max_p) >= self.cfg.threshold)

        target = pseudo_label_target(logits_u_w, pseudo, self.cfg.hard_label, self.cfg.T)
        unsup_loss = masked_mean(soft_cross_entropy(logits_u_s, target), mask)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        logs = ssl_logs(
            sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true, threshold_mean=tau_c.mean()
        )
        return loss, logs
