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


def evaluate(model: nn.Module, X: Tensor, y: Tensor, batch_size: int = 1024) -> dict[str, float]:
    """Accuracy and mean cross-entropy of ``model`` on (X, y)."""
    logits = predict_logits(model, X, batch_size)
    return {
        "acc": float((logits.argmax(-1) == y).float().mean()),
        "loss": float(F.cross_entropy(logits, y)),
    }
