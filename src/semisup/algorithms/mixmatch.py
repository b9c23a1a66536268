"""MixMatch: sharpened guesses averaged over K views, MixUp across labeled and unlabeled data.

Berthelot et al., "MixMatch: A Holistic Approach to Semi-Supervised Learning", NeurIPS 2019.
https://arxiv.org/abs/1905.02249
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semisup.algorithms.base import Algorithm, StepContext, check_shared_fields, forward_cat, ssl_logs
from semisup.losses import linear_ramp, mixup, sharpen, soft_cross_entropy
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("mixmatch")
class MixMatch(Algorithm):
    """loss = mean_{X'} H(p', p(x')) + w(t) · mean_{U'} (1/C)‖q' − p(u')‖² (paper Algorithm 1, eq. 2–5).

    q = sharpen((1/K) Σ_k p(û_k), T) is guessed from K weak views of each unlabeled example (no
    gradient); X̂ = labeled weak views with one-hot labels and Û = the K views, each with q. The
    concatenation is shuffled into W and every row mixed with its partner, λ ~ Beta(α, α),
    λ' = max(λ, 1 − λ), one λ per row as in the official code; X' is the first B rows, U' the rest.
    One forward pass takes the whole mixed batch (the paper's interleaving only fixes BN statistics across
    its several forward passes). MixMatch keeps no state across steps; under DDP each process draws
    MixUp partners from its own batch, a random subset of the global one.

    Config (paper defaults, CIFAR-10): ``K``=2, ``T``=0.5, ``alpha``=0.75, ``lambda_u``=75 (the
    paper's CIFAR-10 value; the official code's flag defaults to 100), ramped up linearly over the first
    ``rampup`` of training: 16,384 of 1,048,576 steps = 1/64 (the paper's "first 16,000 steps").
    ``alpha``=0 turns MixUp off.
    """

    paper = "Berthelot et al. 2019, https://arxiv.org/abs/1905.02249"
    unlabeled_views = ("weak", "weak")
    # Equal labeled and unlabeled batches (paper §4: batch size 64 for both): MixUp draws partners from
    # the concatenation, so μ sets how often a labeled example is mixed with an unlabeled one. With
    # FixMatch's μ = 7 the unlabeled term swamps the 40 labels of digits and accuracy collapses to ~60 %.
    default_mu = 1
    # Without MixUp the supervised term does not depend on the unlabeled views (the contract checks this).
    contract_overrides = {"alpha": 0.0, "rampup": 0.0}

    @dataclass
    class Config:
        K: int = 2
        T: float = 0.5
        alpha: float = 0.75
        lambda_u: float = 75.0
        rampup: float = 1 / 64

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        check_shared_fields(self.name, cfg)
        if isinstance(cfg.K, bool) or not isinstance(cfg.K, int) or cfg.K < 1:
            raise ValueError(f"mixmatch.K must be an int >= 1, got {cfg.K!r}")
        if not cfg.alpha >= 0:
            raise ValueError(f"mixmatch.alpha must be >= 0, got {cfg.alpha}")
        # K views of the unlabeled batch, each an independent weak draw.
        self.unlabeled_views = ("weak",) * cfg.K

    @torch.no_grad()
    def guess_label(self, model, u_views) -> torch.Tensor:
        """q = sharpen(mean_k softmax(f(û_k)), T): (μB, C) targets, the same for each of the K views."""
        probs = [torch.softmax(logits.float(), -1) for logits in forward_cat(model, *u_views)]
        return sharpen(torch.stack(probs).mean(0), self.cfg.T)

    def training_step(self, model, batch, ctx: StepContext):
        u_views, n_lb = batch.u_views, batch.n_lb
        q = self.guess_label(model, u_views)

        x_all = torch.cat([batch.x_lb, *u_views])
        y_all = torch.cat([F.one_hot(batch.y_lb, self.num_classes).to(q.dtype), q.repeat(len(u_views), 1)])
        x_mixed, y_mixed, _, _ = mixup(x_all, y_all, self.cfg.alpha, max_lam=True, per_example=True)
        logits = model(x_mixed).float()

        sup_loss = soft_cross_entropy(logits[:n_lb], y_mixed[:n_lb]).mean()
        unsup_loss = ((torch.softmax(logits[n_lb:], -1) - y_mixed[n_lb:]) ** 2).mean()

        ramp = linear_ramp(ctx.progress, 0.0, self.cfg.rampup) if self.cfg.rampup > 0 else 1.0
        weight = self.cfg.lambda_u * ramp
        loss = sup_loss + weight * unsup_loss
        return loss, ssl_logs(
            sup_loss, unsup_loss, pseudo=q.argmax(-1), u_true=batch.u_true, unsup_weight=weight
        )
