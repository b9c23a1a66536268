"""Losses of open-set SSL: one-vs-all (OVA) outlier detectors and IOMatch's open-set targets.

An OVA detector has one binary head per known class k: "x is of class k" (inlier) against "x is not"
(outlier). Its 2K logits are laid out as OpenMatch's and IOMatch's code lay them out, viewed
``(N, 2, K)`` with row 0 the outlier logit and row 1 the inlier logit of each class; each pair goes
through a softmax of its own.

- Saito et al., "OpenMatch: Open-set Consistency Regularization for Semi-supervised Learning with
  Outliers", NeurIPS 2021, https://arxiv.org/abs/2105.14148 (Eq. 1-3).
- Li et al., "IOMatch: Simplifying Open-Set Semi-Supervised Learning with Joint Inliers and Outliers
  Utilization", ICCV 2023, https://arxiv.org/abs/2308.13168 (the open-set targets).
"""

from __future__ import annotations

import torch
from torch import Tensor

# Inside the logs, as in both papers' code: a probability of exactly 0 must not give an infinite loss.
EPS = 1e-8


def ova_probs(logits: Tensor) -> Tensor:
    """(N, 2K) OVA logits -> (N, 2, K) probabilities; ``[:, 0, k]`` = p(not class k), ``[:, 1, k]`` =
    p(class k), a softmax over each pair.

    Raises:
        ValueError: an odd number of logits per row.
    """
    if logits.ndim != 2 or logits.shape[1] % 2:
        raise ValueError(f"OVA logits must be (N, 2K), got shape {tuple(logits.shape)}")
    return logits.float().view(logits.shape[0], 2, -1).softmax(dim=1)


def ova_loss(logits: Tensor, y: Tensor) -> Tensor:
    """OpenMatch Eq. 1 on labeled examples: mean_b[ −log p_{y_b}(in) − min_{k≠y_b} log p_k(out) ].

    The positive head of the true class is pulled towards "inlier"; of the other K−1 heads only the
    hardest negative (the largest −log p(out)) is pushed towards "outlier". Args: logits (N, 2K); y (N,)
    class ids in 0..K−1. Returns a scalar.
    """
    p = ova_probs(logits)
    n, _, k = p.shape
    pos = -torch.log(p[torch.arange(n, device=y.device), 1, y] + EPS)
    neg = -torch.log(p[:, 0, :] + EPS)
    # The true class's entry is set to 0 (as the authors' code does); every −log p is ≥ 0, so the max
    # is the hardest negative.
    neg = neg.masked_fill(torch.nn.functional.one_hot(y, k).bool(), 0.0).max(dim=1).values
    return (pos + neg).mean()


def ova_entropy(logits: Tensor) -> Tensor:
    """OpenMatch Eq. 2 (open-set entropy minimisation): mean over examples and heads of the binary
    entropy −Σ_{in,out} p log p. Args: logits (N, 2K). Returns a scalar."""
    p = ova_probs(logits)
    return -(p * torch.log(p + EPS)).sum(dim=1).mean()


def socr_loss(logits_a: Tensor, logits_b: Tensor) -> Tensor:
    """OpenMatch Eq. 3 (soft open-set consistency): mean_b Σ_k Σ_{in,out} (p_a − p_b)² between the OVA
    probabilities of two views of the same examples; symmetric in its arguments. Args: (N, 2K) each."""
    return (ova_probs(logits_a) - ova_probs(logits_b)).pow(2).sum(dim=(1, 2)).mean()


def open_set_targets(probs: Tensor, logits_mb: Tensor) -> Tensor:
    """IOMatch's (K+1)-way open-set targets for unlabeled examples.

    q_k = p_k · o_k(in) for the K known classes and q_{K+1} = Σ_k p_k · o_k(out), where p (N, K) are the
    closed-set probabilities and o the multi-binary (OVA) probabilities of ``logits_mb`` (N, 2K). Each
    row sums to 1; q_{K+1} is the expected outlier probability under p. Returns (N, K+1), detached.
    """
    o = ova_probs(logits_mb.detach())
    probs = probs.detach().float()
    if probs.shape != o[:, 0, :].shape:
        raise ValueError(f"probs {tuple(probs.shape)} and OVA logits {tuple(logits_mb.shape)} disagree on K")
    return torch.cat([probs * o[:, 1, :], (probs * o[:, 0, :]).sum(dim=1, keepdim=True)], dim=1)
