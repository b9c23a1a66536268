"""Evaluation and prediction in batches, in eval mode and without gradients."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@torch.no_grad()
def predict_logits(model: nn.Module, X: Tensor, batch_size: int = 1024) -> Tensor:
    """(N, C) float32 logits for inputs (N, ...) on the model's device; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        out = [model(X[i : i + batch_size]).float() for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def class_recall(pred: Tensor, y: Tensor, num_classes: int) -> Tensor:
    """(C,) float recall of each class, correct / count over the examples of class c; nan for a class that
    ``y`` lacks. Counted with ``scatter_add`` on the device."""
    zeros = torch.zeros(num_classes, device=y.device)
    count = zeros.scatter_add(0, y, torch.ones_like(y, dtype=zeros.dtype))
    hit = zeros.scatter_add(0, y, (pred == y).to(zeros.dtype))
    return torch.where(count > 0, hit / count.clamp_min(1.0), torch.full_like(count, float("nan")))


def balanced_accuracy(pred: Tensor, y: Tensor, num_classes: int) -> float:
    """Mean recall over the classes present in ``y`` (sklearn's ``balanced_accuracy_score``): each class
    counts alike however rare it is, which plain accuracy hides under a long tail."""
    return float(class_recall(pred, y, num_classes).nanmean())


def evaluate(model: nn.Module, X: Tensor, y: Tensor, batch_size: int = 1024) -> dict[str, float]:
    """Accuracy, balanced accuracy and mean cross-entropy of ``model`` on (X, y)."""
    logits = predict_logits(model, X, batch_size)
    pred = logits.argmax(-1)
    return {
        "acc": float((pred == y).float().mean()),
        "balanced_acc": balanced_accuracy(pred, y, logits.shape[-1]),
        "loss": float(F.cross_entropy(logits, y)),
    }
