"""UDA: a sharpened, confident prediction on a weak view trains the prediction on a strong view.

Xie et al., "Unsupervised Data Augmentation for Consistency Training", NeurIPS 2020.
https://arxiv.org/abs/1904.12848
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.losses import TSA_SCHEDULES, confidence_mask, masked_mean, sharpen, tsa_threshold
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("uda")
class UDA(Algorithm):
    """loss = CE_TSA(x_lb) + λ_u · mean_b[ 1(max p(u_w) ≥ β) · KL(sharpen(p(u_w), T) ‖ p(u_s)) ].

    Config (the paper's image defaults, section 3.2 and its code's CIFAR-10 flags): ``threshold`` β=0.8
    (confidence of the unsharpened weak prediction), ``T``=0.4, ``lambda_u`` λ=1, ``tsa``="none".
    The target is detached, so its KL equals the cross-entropy up to a constant; the KL is logged, as in
    the official code. Training-signal annealing (``tsa`` = "linear" | "log" | "exp") leaves out of
    the supervised loss each labeled example whose correct-class probability exceeds
    η_t = α_t·(1 − 1/K) + 1/K, and averages over the examples kept (``semisup.losses.tsa``).
    Batch ratio, optimizer and EMA live in the run config, shared by every algorithm.
    """

    paper = "Xie et al. 2020, https://arxiv.org/abs/1904.12848"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.8
        T: float = 0.4
        lambda_u: float = 1.0
        tsa: str = "none"

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        if cfg.tsa != "none" and cfg.tsa not in TSA_SCHEDULES:
            raise ValueError(f"uda.tsa must be 'none' or one of {', '.join(TSA_SCHEDULES)}, got {cfg.tsa!r}")

    def training_step(self, model, batch, ctx: StepContext):
        u_w, u_s = batch.u_views
        logits_x, logits_u_w, logits_u_s = forward_cat(model, batch.x_lb, u_w, u_s)
        sup_losses = F.cross_entropy(logits_x.float(), batch.y_lb, reduction="none")
        logs = {}
        if self.cfg.tsa == "none":
            sup_loss = sup_losses.mean()
        else:
            # TSA: drop labeled examples the model already fits beyond η_t; average over those kept.
            eta = tsa_threshold(self.cfg.tsa, ctx.progress, self.num_classes)
            p_correct = torch.softmax(logits_x.detach().float(), -1).gather(1, batch.y_lb[:, None])[:, 0]
            keep = (p_correct <= eta).float()
            # Averaged over the examples kept on every rank: DDP's mean of the ranks' losses is then
            # the loss one process with the whole batch would compute.
            kept = ctx.dist.all_reduce(keep.sum(), "mean")
            sup_loss = (sup_losses * keep).sum() / kept.clamp_min(1.0 / ctx.dist.world_size)
            logs["train/tsa_threshold"] = eta
            logs["train/sup_mask_ratio"] = keep.mean()

        # The weak view gives the target only: confidence from p, the target sharpened, no gradient.
        probs = torch.softmax(logits_u_w.detach().float(), dim=-1)
        pseudo, mask = confidence_mask(probs, self.cfg.threshold)
        target = sharpen(probs, self.cfg.T)
        kl = F.kl_div(F.log_softmax(logits_u_s.float(), -1), target, reduction="none").sum(-1)
        unsup_loss = masked_mean(kl, mask)

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        return loss, logs | ssl_logs(sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true)
