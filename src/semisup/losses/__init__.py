"""Pure loss functions and schedules shared by the algorithms."""

from semisup.losses.classification import confidence_mask, masked_mean, soft_cross_entropy
from semisup.losses.consistency import mse_probs
from semisup.losses.ramps import linear_ramp, sigmoid_rampup

__all__ = [
    "confidence_mask",
    "linear_ramp",
    "masked_mean",
    "mse_probs",
    "sigmoid_rampup",
    "soft_cross_entropy",
]
