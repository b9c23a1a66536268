"""SimMatch: pseudo-labels that agree at the class level and at the instance level.

Zheng, You, Qian, Wang, Wang, Xu, "SimMatch: Semi-supervised Learning with Similarity Matching",
CVPR 2022, https://arxiv.org/abs/2203.06915; authors' code github.com/mingkai-zheng/SimMatch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, ssl_logs
from semisup.components.aux_heads import AuxHeadsState
from semisup.components.memory_queue import MemoryQueue
from semisup.components.projection_head import NAME, logits_and_embeddings, projection_head
from semisup.losses import masked_mean, soft_cross_entropy
from semisup.losses.similarity import unfold_aggregate
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("simmatch")
class SimMatch(AuxHeadsState, Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(max p̂_b ≥ τ) · H(p̂_b, p(u_s)) ] + λ_in · mean_b H(q̂_b, q(u_s)).

    One forward pass over (x_lb, u_w, u_s) gives logits and L2-normalised embeddings z (a 2-layer
    projection head on the net's features, ``attach``). A labeled memory holds embeddings z_j of labeled
    weak views and their labels y_j. For an unlabeled example: p = DA(softmax(u_w)) (divided by the mean
    prediction of the last ``da_len`` batches, renormalised); the instance similarity
    q = softmax_j(z_w · z_j / t) over the memory; unfolding q̂_j ∝ q_j p_{y_j} is the target of the
    strong view's q(u_s) = softmax_j(z_s · z_j / t) (the instance loss); aggregation
    p̂ = α p + (1 − α) Σ_{j: y_j = c} q_j is the soft classification target, kept where max p̂ ≥ τ. Until
    the memory is full (the authors wait out the first epoch) λ_in's term is 0 and p̂ = p.

    Config (the paper's): ``threshold`` τ=0.95, ``T`` t=0.1 (teacher and student), ``alpha`` α=0.9,
    ``lambda_u``=1, ``lambda_in``=1, ``proj_dim``=128, ``K``=256, ``da_len``=256 (the authors' code).

    Where this differs from the paper: the paper keeps one memory slot per labeled example, overwritten
    when that example is drawn (K = the number of labeled examples), with embeddings from an EMA
    teacher. This engine's batch carries no labeled ids and the algorithm no teacher, so the memory is a
    FIFO of the last K labeled embeddings of the online net (detached), as USB's CIFAR setting uses the
    online net. K = 256 is four labeled batches of 64: several copies of a 40-label set, embeddings at
    most four steps old; raise K toward the number of labeled examples for large labeled sets.

    Under DDP the memories are pushed the global batch (``ctx.dist``); every loss term is per example,
    so one process with the concatenated batch gives the same losses and state. Logs ``train/in_loss``.
    """

    paper = "Zheng et al. 2022, https://arxiv.org/abs/2203.06915"
    unlabeled_views = ("weak", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        T: float = 0.1
        alpha: float = 0.9
        lambda_u: float = 1.0
        lambda_in: float = 1.0
        proj_dim: int = 128
        K: int = 256
        da_len: int = 256

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if not cfg.T > 0 or not 0.0 <= cfg.alpha <= 1.0:
            raise ValueError(f"simmatch needs T > 0 and alpha in [0, 1], got T={cfg.T}, alpha={cfg.alpha}")
        if cfg.proj_dim < 1 or cfg.K < 1 or cfg.da_len < 1:
            raise ValueError(
                f"simmatch needs proj_dim, K and da_len >= 1, got {cfg.proj_dim}, {cfg.K}, {cfg.da_len}"
            )
        self.memory = MemoryQueue(cfg.K, z=cfg.proj_dim, y=num_classes)  # labels one-hot
        self.da = MemoryQueue(cfg.da_len, p=num_classes)  # the last batches' mean predictions

    def attach(self, model: nn.Module) -> None:
        self.attach_heads(model, {NAME: projection_head(self.cfg.proj_dim)})

    def training_step(self, model, batch, ctx: StepContext):
        cfg, dist = self.cfg, ctx.dist
        u_w, u_s = batch.u_views
        n, m = batch.n_lb, batch.n_ulb
        logits, z = logits_and_embeddings(model, self.heads, torch.cat([batch.x_lb, u_w, u_s]))
        logits_x, logits_w, logits_s = logits.float().split([n, m, m])
        z_x, z_w, z_s = z.float().split([n, m, m])
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)
        # Copies: the memory is pushed below, and the student's term needs these rows in its backward.
        bank_z, bank_y, ready = self.memory.rows("z"), self.memory.rows("y"), self.memory.full

        with torch.no_grad():  # targets only
            probs = torch.softmax(logits_w, dim=1)
            self.da.push(p=dist.all_gather(probs).mean(0, keepdim=True))
            probs = probs / self.da.mean("p").clamp_min(1e-6)
            probs = probs / probs.sum(dim=1, keepdim=True)
            sim_w = torch.softmax(z_w @ bank_z.T / cfg.T, dim=1)
            teacher, aggregated = unfold_aggregate(probs, sim_w, bank_y, cfg.alpha)
            target = torch.where(ready, aggregated, probs)
            conf, pseudo = target.max(dim=1)
            mask = (conf >= cfg.threshold).float()
            onehot = F.one_hot(batch.y_lb, self.num_classes).float()
            self.memory.push(z=dist.all_gather(z_x), y=dist.all_gather(onehot))

        student = torch.log_softmax(z_s @ bank_z.T / cfg.T, dim=1)
        in_loss = -(teacher * student).sum(dim=1).mean() * ready
        unsup_loss = masked_mean(soft_cross_entropy(logits_s, target), mask)
        loss = sup_loss + cfg.lambda_u * unsup_loss + cfg.lambda_in * in_loss
        logs = ssl_logs(
            sup_loss, unsup_loss, mask=mask, pseudo=pseudo, u_true=batch.u_true, in_loss=in_loss.detach()
        )
        return loss, logs
