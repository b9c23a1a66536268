"""CoMatch: class probabilities and embeddings trained jointly, each regularising the other.

Li, Xiong, Hoi, "CoMatch: Semi-supervised Learning with Contrastive Graph Regularization", ICCV 2021,
https://arxiv.org/abs/2011.11183; defaults of the authors' CIFAR code (github.com/salesforce/CoMatch).
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
from semisup.losses.similarity import graph_contrastive_loss, memory_smoothing, pseudo_label_graph
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("comatch")
class CoMatch(AuxHeadsState, Algorithm):
    """loss = CE(x_lb) + λ_u · mean_b[ 1(max q_b ≥ τ) · H(q_b, p(u_s0)) ] + λ_c · mean_b H(Ŵ^q_b, Ŵ^z_b).

    One forward pass over (x_lb, u_w, u_s0, u_s1) gives logits and L2-normalised embeddings z (a 2-layer
    projection head on the net's features, ``attach``). From the weak view, in order:
    p = DA(softmax) (divided by the mean prediction of the last ``da_len`` batches, renormalised);
    memory smoothing q = α p + (1 − α) Σ_k softmax_k(z·z_k / t) p_k over a memory of the last K weak-view
    embeddings and probabilities (labeled examples enter with one-hot labels), once it is full; the
    pseudo-label graph Ŵ^q (q_b·q_j kept where ≥ T, self-loops, rows normalised) is the target of the
    embedding graph Ŵ^z = softmax_j(z_s0,b · z_s1,j / t) of the two strong views. The classification
    target q is soft, as in the authors' code.

    Config (the paper's CIFAR settings): ``threshold`` τ=0.95, ``contrast_threshold`` T=0.8, ``T`` t=0.2,
    ``alpha`` α=0.9, ``lambda_u``=1, ``lambda_c``=1, ``proj_dim``=64, ``queue_size`` K=2560 (5 batches
    of B(1+μ)), ``da_len``=32. K is capped at the size of the unlabeled pool (digits: ~1,200), so
    smoothing starts after about one pass over it rather than never meaningfully filling with stale rows.

    Under DDP the memories are pushed the global batch (``ctx.dist``) and both graphs span every rank's
    batch (the authors' code builds them per GPU): one process with the concatenated batch gives the
    same losses and state. Logs ``train/contrast_loss`` besides the shared names.
    """

    paper = "Li, Xiong, Hoi 2021, https://arxiv.org/abs/2011.11183"
    unlabeled_views = ("weak", "strong", "strong")
    contract_overrides = {"threshold": 0.0}

    @dataclass
    class Config:
        threshold: float = 0.95
        contrast_threshold: float = 0.8
        T: float = 0.2
        alpha: float = 0.9
        lambda_u: float = 1.0
        lambda_c: float = 1.0
        proj_dim: int = 64
        queue_size: int = 2560
        da_len: int = 32

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if not cfg.T > 0 or not 0.0 <= cfg.alpha <= 1.0:
            raise ValueError(f"comatch needs T > 0 and alpha in [0, 1], got T={cfg.T}, alpha={cfg.alpha}")
        if cfg.proj_dim < 1 or cfg.queue_size < 1 or cfg.da_len < 1:
            raise ValueError(
                f"comatch needs proj_dim, queue_size and da_len >= 1, got {cfg.proj_dim}, "
                f"{cfg.queue_size}, {cfg.da_len}"
            )
        size = min(cfg.queue_size, n_unlabeled) if n_unlabeled > 0 else cfg.queue_size
        self.memory = MemoryQueue(size, z=cfg.proj_dim, p=num_classes)
        self.da = MemoryQueue(cfg.da_len, p=num_classes)  # the last batches' mean predictions

    def attach(self, model: nn.Module) -> None:
        self.attach_heads(model, {NAME: projection_head(self.cfg.proj_dim)})

    def training_step(self, model, batch, ctx: StepContext):
        cfg, dist = self.cfg, ctx.dist
        u_w, u_s0, u_s1 = batch.u_views
        n, m = batch.n_lb, batch.n_ulb
        logits, z = logits_and_embeddings(model, self.heads, torch.cat([batch.x_lb, u_w, u_s0, u_s1]))
        logits_x, logits_w, logits_s0, _ = logits.float().split([n, m, m, m])
        z_x, z_w, z_s0, z_s1 = z.float().split([n, m, m, m])
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)

        with torch.no_grad():  # pseudo-labels are targets only
            probs = torch.softmax(logits_w, dim=1)
            self.da.push(p=dist.all_gather(probs).mean(0, keepdim=True))
            probs = probs / self.da.mean("p").clamp_min(1e-6)
            probs = probs / probs.sum(dim=1, keepdim=True)
            smoothed = memory_smoothing(
                probs, z_w, self.memory.z, self.memory.p, cfg.alpha, cfg.T
            )  # read before this batch is pushed, as in the authors' code
            q = torch.where(self.memory.full, smoothed, probs)
            conf, pseudo = q.max(dim=1)
            mask = (conf >= cfg.threshold).float()
            # Gathered field by field: the rows land in the order one process with the whole batch uses.
            onehot = F.one_hot(batch.y_lb, self.num_classes).float()
            z_mem = torch.cat([dist.all_gather(z_w), dist.all_gather(z_x)])
            self.memory.push(z=z_mem, p=torch.cat([dist.all_gather(probs), dist.all_gather(onehot)]))
            graph = pseudo_label_graph(q, dist.all_gather(q), cfg.contrast_threshold, dist.rank * m)

        unsup_loss = masked_mean(soft_cross_entropy(logits_s0, q), mask)
        contrast_loss = graph_contrastive_loss(z_s0, dist.all_gather(z_s1, grad=True), graph, cfg.T)
        loss = sup_loss + cfg.lambda_u * unsup_loss + cfg.lambda_c * contrast_loss
        logs = ssl_logs(
            sup_loss,
            unsup_loss,
            mask=mask,
            pseudo=pseudo,
            u_true=batch.u_true,
            contrast_loss=contrast_loss.detach(),
        )
        return loss, logs
