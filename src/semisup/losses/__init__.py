"""Pure loss functions and schedules shared by the algorithms."""

from semisup.losses.classification import (
    confidence_mask,
    masked_mean,
    pseudo_label_target,
    soft_cross_entropy,
)
from semisup.losses.consistency import mse_probs
from semisup.losses.contrastive import NTXentLoss, contrastive_accuracy, nt_xent
from semisup.losses.distillation import distillation_loss, teacher_probs
from semisup.losses.logit_adjust import logit_adjustment, symmetric_kl
from semisup.losses.mixup import mixup
from semisup.losses.open_set import open_set_targets, ova_entropy, ova_loss, ova_probs, socr_loss
from semisup.losses.ramps import linear_ramp, sigmoid_rampup
from semisup.losses.sharpen import sharpen
from semisup.losses.tsa import TSA_SCHEDULES, tsa_threshold
from semisup.losses.vat import entropy_with_logits, kl_div_with_logits, l2_normalize

__all__ = [
    "NTXentLoss",
    "contrastive_accuracy",
    "distillation_loss",
    "logit_adjustment",
    "symmetric_kl",
    "nt_xent",
    "teacher_probs",
    "TSA_SCHEDULES",
    "confidence_mask",
    "linear_ramp",
    "masked_mean",
    "mixup",
    "open_set_targets",
    "ova_entropy",
    "ova_loss",
    "ova_probs",
    "socr_loss",
    "mse_probs",
    "pseudo_label_target",
    "sharpen",
    "sigmoid_rampup",
    "soft_cross_entropy",
    "tsa_threshold",
    "entropy_with_logits",
    "kl_div_with_logits",
    "l2_normalize",
]
