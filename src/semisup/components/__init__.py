"""Stateful building blocks the algorithms share: small ``nn.Module``s whose state is in buffers.

An algorithm holds them as submodules, so its ``state_dict`` (and every checkpoint) carries their
state. They update only under ``torch.no_grad`` and never read a device value on the host.
"""

from semisup.components.adaptive_threshold import SelfAdaptiveThreshold, self_adaptive_fairness_loss
from semisup.components.aux_heads import AuxHeadsState, AuxiliaryHeads, attach_aux_heads
from semisup.components.class_prior import LabeledClassCounts
from semisup.components.darp import DARPRefinery, darp_align, darp_denoise
from semisup.components.distribution_alignment import DistributionAlignment
from semisup.components.distribution_estimate import AdaptiveAdjustment
from semisup.components.distribution_window import ClassDistributionWindow, align_distribution
from semisup.components.learning_status import ClasswiseLearningStatus, convex_mapping
from semisup.components.loss_threshold import DecayingLossThreshold
from semisup.components.relative_threshold import (
    RelativeDistributionAlignment,
    relative_confidence_threshold,
)
from semisup.components.rotation import all_rotations, random_rotation, rotate
from semisup.components.soft_weights import TruncatedGaussianWeights

__all__ = [
    "AdaptiveAdjustment",
    "AuxHeadsState",
    "AuxiliaryHeads",
    "ClassDistributionWindow",
    "DARPRefinery",
    "ClasswiseLearningStatus",
    "DecayingLossThreshold",
    "DistributionAlignment",
    "LabeledClassCounts",
    "RelativeDistributionAlignment",
    "SelfAdaptiveThreshold",
    "TruncatedGaussianWeights",
    "align_distribution",
    "all_rotations",
    "attach_aux_heads",
    "convex_mapping",
    "darp_align",
    "darp_denoise",
    "random_rotation",
    "relative_confidence_threshold",
    "rotate",
    "self_adaptive_fairness_loss",
]
