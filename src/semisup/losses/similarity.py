"""Pseudo-labels and losses from embedding similarities: CoMatch's memory smoothing and graph-contrastive
loss, SimMatch's label unfolding and aggregation.

Li, Xiong, Hoi, "CoMatch: Semi-supervised Learning with Contrastive Graph Regularization", ICCV 2021,
https://arxiv.org/abs/2011.11183. Zheng et al., "SimMatch: Semi-supervised Learning with Similarity
Matching", CVPR 2022, https://arxiv.org/abs/2203.06915. Embeddings are L2-normalised rows throughout.
"""

from __future__ import annotations

import torch
from torch import Tensor


def memory_smoothing(
    probs: Tensor, z: Tensor, bank_z: Tensor, bank_p: Tensor, alpha: float, temperature: float
) -> Tensor:
    """CoMatch's memory-smoothed pseudo-labels q = α p + (1 − α) Σ_k a_k p_k, a = softmax(z·z_k / t).

    Args:
        probs: (N, C) class probabilities of the weak view. z: (N, D) its embeddings.
        bank_z: (K, D) memory embeddings. bank_p: (K, C) their class probabilities (one-hot if labeled).
        alpha: α in [0, 1]. temperature: t > 0.

    Returns:
        (N, C) rows summing to 1.
    """
    a = torch.softmax(z @ bank_z.T / temperature, dim=1)
    return alpha * probs + (1.0 - alpha) * a @ bank_p


def pseudo_label_graph(probs: Tensor, probs_all: Tensor, threshold: float, offset: int = 0) -> Tensor:
    """CoMatch's pseudo-label graph: W_bj = q_b·q_j where ≥ T, else 0, a self-loop W_bb = 1, rows
    normalised to sum to 1.

    Args:
        probs: (N, C) this process's pseudo-labels q. probs_all: (M, C) the columns' (the global batch
            under DDP, where this process's rows sit at ``offset .. offset + N − 1``; ``probs`` itself
            on one process).
        threshold: T.

    Returns:
        (N, M) row-stochastic targets.
    """
    w = probs @ probs_all.T
    rows = torch.arange(probs.shape[0], device=probs.device)
    w[rows, rows + offset] = 1.0
    w = w * (w >= threshold)
    return w / w.sum(dim=1, keepdim=True)


def graph_contrastive_loss(z_a: Tensor, z_b: Tensor, target: Tensor, temperature: float) -> Tensor:
    """Mean over rows of the cross-entropy H(target_b, softmax_j(z_a,b · z_b,j / t)): the embedding graph
    of two strong views pulled toward the pseudo-label graph (CoMatch Eq. 8).

    Args:
        z_a: (N, D) first view's embeddings. z_b: (M, D) second view's (the global batch under DDP).
        target: (N, M) row-stochastic. temperature: t > 0.
    """
    log_p = torch.log_softmax(z_a @ z_b.T / temperature, dim=1)
    return -(target * log_p).sum(dim=1).mean()


def unfold_aggregate(probs: Tensor, sim: Tensor, bank_onehot: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
    """SimMatch's label propagation between class and instance similarities (Eqs. 6–8).

    Unfolding scales each labeled instance's similarity q_j by the class probability of its label,
    q̂_j ∝ q_j p_{y_j}; aggregation adds the instance similarities per class, p̂_c ∝ p_c (α) +
    (1 − α) Σ_{j: y_j = c} q_j.

    Args:
        probs: (N, C) weak-view class probabilities p. sim: (N, K) instance similarities q (rows of a
            softmax over the labeled memory). bank_onehot: (K, C) one-hot labels of the memory rows.
        alpha: α in [0, 1].

    Returns:
        (N, K) unfolded instance targets (all 0 where every q_j p_{y_j} is 0), (N, C) aggregated
        class targets.
    """
    unfolded = sim * (probs @ bank_onehot.T)
    unfolded = unfolded / unfolded.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return unfolded, alpha * probs + (1.0 - alpha) * sim @ bank_onehot
