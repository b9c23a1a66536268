"""Turning a data set and a config into device tensors, views and a model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from semisup.config import RunConfig
from semisup.data.columns import categorical_columns
from semisup.data.dataset import SSLDataset
from semisup.data.views import View, make_views
from semisup.nets.build import (
    build_net,
    check_user_net,
    default_net_name,
    encoded_shape,
    input_encoder,
)
from semisup.registry import NETS


@dataclass
class DeviceData:
    """The training data on the training device.

    X_lb (L, ...), y_lb (L,): labeled examples. X_pool (P, ...): the unlabeled pool; u_true (P,) its
    true labels where known (-1 elsewhere; monitoring only). X_test/y_test: held-out split or None.
    """

    X_lb: Tensor
    y_lb: Tensor
    X_pool: Tensor
    u_true: Tensor
    X_test: Tensor | None
    y_test: Tensor | None
    views: dict[str, View]

    @property
    def n_pool(self) -> int:
        return len(self.X_pool)


def prepare_data(
    data: SSLDataset, cfg: RunConfig, device: torch.device, pool_all: bool = False
) -> DeviceData:
    """``pool_all``: the unlabeled pool is every training input whatever ``unlabeled_includes_labeled``
    says (self-supervised pretraining uses all inputs)."""
    X = torch.as_tensor(data.X, dtype=torch.float32)
    y = torch.as_tensor(data.y, dtype=torch.long)
    lab = y >= 0
    pool = torch.ones_like(lab) if cfg.data.unlabeled_includes_labeled or pool_all else ~lab
    # train/pseudo_acc scores pseudo-labels of unlabeled examples whose true label is really known
    # (built-ins, labels hidden by labels_per_class/label_fraction): -1 for the labeled examples (their
    # own labels would read 1.000) and all over a user's file that came with -1 labels, where
    # pseudo_acc is then not logged at all.
    unknown = torch.full_like(y, -1)
    y_true = torch.as_tensor(data.y_true, dtype=torch.long) if data.y_true is not None else unknown
    y_true = torch.where(lab, unknown, y_true)
    scale = X.std(dim=0) if X.ndim == 2 else None
    has_test = data.X_test is not None
    categorical = categorical_columns(data.columns, data.categories)
    views = make_views(data.kind, cfg.augment, scale, X, sorted(categorical))
    if cfg.train.compile and device.type == "cuda":
        # The GPU views are sync-free with static shapes: compiled, each is a few fused kernels.
        views = {name: torch.compile(v, fullgraph=True, dynamic=False) for name, v in views.items()}
    return DeviceData(
        X_lb=X[lab].to(device),
        y_lb=y[lab].to(device),
        X_pool=X[pool].to(device),
        u_true=y_true[pool].to(device),
        X_test=torch.as_tensor(data.X_test, dtype=torch.float32).to(device) if has_test else None,
        y_test=torch.as_tensor(data.y_test, dtype=torch.long).to(device) if has_test else None,
        views=views,
    )


def resolve_net(cfg: RunConfig, data: SSLDataset) -> None:
    """Replace ``net: auto`` by the default net for the data kind, with its default arguments, so the
    saved config names exactly what ran."""
    if cfg.net == "auto":
        cfg.net = default_net_name(data.kind)
    if cfg.net != "custom" and cfg.net_args is None:
        cfg.net_args = NETS.get(cfg.net).Config()


def build_model(cfg: RunConfig, data: SSLDataset, net: nn.Module | None = None) -> nn.Module:
    """The net with input standardisation in front, so the model takes raw inputs (N, *input_shape)."""
    resolve_net(cfg, data)
    X = torch.as_tensor(data.X, dtype=torch.float32)
    encoder = input_encoder(X, data.kind, categorical_columns(data.columns, data.categories))
    shape = encoded_shape(encoder, data.input_shape)  # tables: one-hot categories widen the rows
    if net is None:
        net = build_net(cfg.net, shape, data.num_classes, cfg.net_args)
    else:
        check_user_net(net, shape, data.num_classes)
    model = nn.Sequential(encoder, net)
    if cfg.train.channels_last and data.kind == "image":
        model = model.to(memory_format=torch.channels_last)
    return model
