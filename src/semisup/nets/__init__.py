"""Networks: ``mlp`` for vectors, ``cnn`` for small images, ``wrn28_2`` (FixMatch's backbone).

Importing this package registers each net in ``semisup.registry.NETS``. Every net takes
``(input_shape, num_classes, cfg)`` and has ``forward -> logits``, ``features -> (N, feature_dim)``.
"""

from semisup.nets.build import (
    Standardize,
    build_net,
    check_user_net,
    default_net_name,
    with_standardize,
)
from semisup.nets.cnn import CNN
from semisup.nets.mlp import MLP
from semisup.nets.wrn import WideResNet

__all__ = [
    "CNN",
    "MLP",
    "Standardize",
    "WideResNet",
    "build_net",
    "check_user_net",
    "default_net_name",
    "with_standardize",
]
