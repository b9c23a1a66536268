"""Stateful building blocks the algorithms share: small ``nn.Module``s whose state is in buffers.

An algorithm holds them as submodules, so its ``state_dict`` (and every checkpoint) carries their
state. They update only under ``torch.no_grad`` and never read a device value on the host.
"""

from semisup.components.adaptive_threshold import SelfAdaptiveThreshold, self_adaptive_fairness_loss
from semisup.components.distribution_alignment import DistributionAlignment
from semisup.components.learning_status import ClasswiseLearningStatus, convex_mapping
from semisup.components.soft_weights import TruncatedGaussianWeights

__all__ = [
    "ClasswiseLearningStatus",
    "DistributionAlignment",
    "SelfAdaptiveThreshold",
    "TruncatedGaussianWeights",
    "convex_mapping",
    "self_adaptive_fairness_loss",
]
