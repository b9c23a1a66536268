"""Networks: ``mlp`` for vectors, ``cnn`` for small images, ``wrn28_2`` (FixMatch's backbone),
``cnn1d`` and ``resnet1d`` for signals, ``table_mlp`` for tables (after a ``TableEncoder``).

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
from semisup.nets.cnn1d import CNN1d
from semisup.nets.mlp import MLP
from semisup.nets.resnet1d import ResNet1d
from semisup.nets.table import TableEncoder
from semisup.nets.table_mlp import TableMLP
from semisup.nets.wrn import WideResNet

__all__ = [
    "CNN",
    "CNN1d",
    "MLP",
    "ResNet1d",
    "Standardize",
    "TableEncoder",
    "TableMLP",
    "WideResNet",
    "build_net",
    "check_user_net",
    "default_net_name",
    "with_standardize",
]
