"""Open-set evaluation: closed-set accuracy on the known classes and the AUROC of the unknown score.

A test split with inputs of classes the model was never given (``SSLDataset.X_test_unknown``, e.g. the
hidden classes of a class-mismatch run) is scored twice: the known-class examples by accuracy, and how
well the unknown score separates known from unknown examples by the area under the ROC curve (0.5 =
chance, 1 = every unknown example scores above every known one).

The unknown score is the model's open-set detector where it has one (OpenMatch, IOMatch: see
``OpenSetHead.unknown_score``), else 1 − max softmax probability, the standard baseline (Hendrycks &
Gimpel, "A Baseline for Detecting Misclassified and Out-of-Distribution Examples", ICLR 2017,
https://arxiv.org/abs/1610.02136).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor, nn

from semisup.nets.open_set_head import UNKNOWN_THRESHOLD, find_open_set_head


@torch.no_grad()
def logits_and_unknown_score(model: nn.Module, X: Tensor, batch_size: int = 1024) -> tuple[Tensor, Tensor]:
    """(N, K) float32 closed-set logits and (N,) unknown scores in [0, 1], in eval mode, in batches; the
    model's mode is restored."""
    head = find_open_set_head(model)
    was_training = model.training
    model.eval()
    logits, scores = [], []
    try:
        for i in range(0, len(X), batch_size):
            out = model(X[i : i + batch_size]).float()
            if head is not None and head.open_logits is not None:
                score = head.unknown_score(out, head.open_logits)
            else:
                score = 1.0 - out.softmax(dim=1).max(dim=1).values
            logits.append(out)
            scores.append(score.float())
    finally:
        model.train(was_training)
    if head is not None:
        head.open_logits = None  # do not keep the last batch's logits alive
    return torch.cat(logits), torch.cat(scores)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (N,) for the boolean labels ``positive`` (N,): the
    probability that a random positive scores above a random negative, ties counting one half
    (Mann–Whitney U / (n_pos · n_neg), average ranks for ties). Equals ``sklearn.metrics.roc_auc_score``.

    Raises:
        ValueError: shapes differ, or one of the two groups is empty.
    """
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    if scores.shape != positive.shape or scores.ndim != 1:
        raise ValueError(f"scores and labels must be (N,) arrays, got {scores.shape} and {positive.shape}")
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUROC needs both groups: got {n_pos} positive and {n_neg} negative examples")
    ranks = rankdata(scores)  # 1-based, ties averaged
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def open_set_metrics(
    model: nn.Module, X_known: Tensor, y_known: Tensor, X_unknown: Tensor, batch_size: int = 1024
) -> dict[str, float]:
    """``closed_set_acc`` (accuracy on the known-class examples) and ``unknown_auroc`` (unknown examples
    as the positives) of ``model``; ``unknown_rate``, the share of unknown examples scored above
    ``UNKNOWN_THRESHOLD``, for a model with an open-set detector."""
    logits, s_known = logits_and_unknown_score(model, X_known, batch_size)
    _, s_unknown = logits_and_unknown_score(model, X_unknown, batch_size)
    scores = torch.cat([s_known, s_unknown]).cpu().numpy()
    positive = np.r_[np.zeros(len(s_known), bool), np.ones(len(s_unknown), bool)]
    out = {
        "closed_set_acc": float((logits.argmax(1) == y_known).float().mean()),
        "unknown_auroc": auroc(scores, positive),
    }
    if find_open_set_head(model) is not None:
        out["unknown_rate"] = float((s_unknown > UNKNOWN_THRESHOLD).float().mean())
    return out
