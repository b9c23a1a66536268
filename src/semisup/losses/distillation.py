"""Knowledge distillation: the student matches the teacher's temperature-softened probabilities.

Hinton et al., "Distilling the Knowledge in a Neural Network", 2015, https://arxiv.org/abs/1503.02531;
used on unlabeled data by SimCLRv2 (Chen et al. 2020, https://arxiv.org/abs/2006.10029, eq. 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, T: float = 1.0) -> Tensor:
    """Per-example T² · KL( softmax(t/T) ‖ softmax(s/T) ).

    The T² factor keeps the gradient's scale independent of T (Hinton et al., §2). KL differs from
    the cross-entropy −Σ p_t log p_s of SimCLRv2 eq. 2 only by the teacher's entropy, a constant for
    the student, so the gradients are the same and the loss is 0 when the student matches.

    Args:
        student_logits, teacher_logits: (N, C). The teacher is treated as a constant (detached).
        T: temperature > 0.

    Returns:
        (N,) losses.

    Raises:
        ValueError: shapes differ or T <= 0.
    """
    if not T > 0:
        raise ValueError(f"temperature T must be > 0, got {T!r}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student and teacher logits differ in shape: {tuple(student_logits.shape)} vs "
            f"{tuple(teacher_logits.shape)}"
        )
    log_p_s = F.log_softmax(student_logits.float() / T, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.detach().float() / T, dim=-1)
    return (T * T) * (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1)


def teacher_probs(teacher_logits: Tensor, T: float = 1.0) -> Tensor:
    """softmax(teacher_logits / T), (N, C), detached: the student's soft targets."""
    return torch.softmax(teacher_logits.detach().float() / T, dim=-1)
