"""Build a registered net by name, check a user's own net, and put input standardisation inside a model.

The engine wraps every net as ``nn.Sequential(Standardize, net)`` (``TableEncoder`` for tables) so a saved
model predicts from the user's raw inputs, with no separate preprocessing step to lose.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from semisup.registry import NETS

KINDS = ("image", "signal", "table", "vector", "text")  # as semisup.data.dataset.KINDS
DEFAULT_NETS = {"image": "cnn", "signal": "cnn1d", "table": "table_mlp", "vector": "mlp", "text": "mlp"}


def resolve_config(cls: type, cfg: Any) -> Any:
    """``cls.Config()`` for ``None``; ``cfg`` itself if it is a ``cls.Config``; else a ``TypeError``."""
    if cfg is None:
        return cls.Config()
    if not isinstance(cfg, cls.Config):
        raise TypeError(f"{cls.__name__} expects cfg to be {cls.__name__}.Config, got {type(cfg).__name__}")
    return cfg


def check_num_classes(num_classes: int) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    return num_classes


def check_image_shape(net: str, input_shape: tuple[int, ...], min_side: int = 1) -> tuple[int, int, int]:
    """``input_shape`` as ``(C, H, W)`` with ``H, W >= min_side``, else a ``ValueError`` saying why."""
    if len(input_shape) != 3 or min(input_shape) < 1:
        hint = " use 'mlp' for feature vectors (D,)." if len(input_shape) == 1 else ""
        raise ValueError(f"{net!r} needs images of shape (C, H, W), got {tuple(input_shape)};{hint}")
    c, h, w = input_shape
    if min(h, w) < min_side:
        raise ValueError(f"{net!r} needs images of at least {min_side}x{min_side}, got {h}x{w}")
    return c, h, w


def build_net(name: str, input_shape: tuple[int, ...], num_classes: int, cfg: Any = None) -> nn.Module:
    """The registered net ``name`` for inputs of ``input_shape`` (no batch dimension).

    Raises:
        UnknownNameError: for an unregistered name; the message suggests the closest names.
        ConfigError: the net does not fit the inputs or its config (e.g. ``cnn`` on vectors).
    """
    from semisup.config import ConfigError

    net = NETS.get(name)
    try:
        return net(tuple(int(s) for s in input_shape), num_classes, cfg)
    except ConfigError:
        raise
    except ValueError as e:  # the constructors' checks: a user's choice of net, reported as one line
        raise ConfigError(str(e) if repr(name) in str(e) else f"net {name!r}: {e}") from e


def default_net_name(kind: str) -> str:
    """The net for a data kind: ``cnn`` for images ``(C, H, W)``, ``cnn1d`` for signals ``(C, L)``,
    ``table_mlp`` for tables, ``mlp`` for vectors and text embeddings ``(D,)``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return DEFAULT_NETS[kind]


class Standardize(nn.Module):
    """``(x - mean) / std`` with per-channel ``(1, C, 1, 1)`` (images), ``(1, C, 1)`` (signals) or
    per-feature ``(1, D)`` buffers.

    The statistics are buffers, so they are saved in ``state_dict`` with the net they feed.
    """

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        if mean.shape != std.shape:
            raise ValueError(f"mean and std shapes differ: {tuple(mean.shape)} vs {tuple(std.shape)}")
        if not bool((std > 0).all()):
            raise ValueError("std must be > 0 everywhere")
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())

    @classmethod
    def from_data(cls, X: Tensor, kind: str) -> Standardize:
        """Statistics of ``X``: ``(N, C, H, W)`` per channel for ``"image"``, ``(N, C, L)`` per channel
        for ``"signal"``, ``(N, D)`` per feature for the flat kinds. ``std`` is ``torch.std`` (unbiased),
        clamped at 1e-6 so a constant feature maps to 0 instead of dividing by zero."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        ndim = {"image": 4, "signal": 3}.get(kind, 2)
        if X.ndim != ndim:
            raise ValueError(f"{kind} data must be {ndim}-D (N, ...), got shape {tuple(X.shape)}")
        if X.shape[0] < 2:
            raise ValueError(f"need at least 2 samples to estimate a std, got {X.shape[0]}")
        X = X if X.is_floating_point() else X.float()
        dims = {"image": (0, 2, 3), "signal": (0, 2)}.get(kind, (0,))
        mean = X.mean(dim=dims, keepdim=True)
        std = X.std(dim=dims, keepdim=True).clamp_min(1e-6)
        return cls(mean, std)

    @classmethod
    def identity(cls, input_shape: tuple[int, ...], kind: str) -> Standardize:
        """Mean 0, std 1 buffers of the right shape: a placeholder to ``load_state_dict`` into."""
        shape = {"image": (1, input_shape[0], 1, 1), "signal": (1, input_shape[0], 1)}.get(
            kind, (1, *input_shape)
        )
        return cls(torch.zeros(shape), torch.ones(shape))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


def input_encoder(X: Tensor, kind: str, categorical: dict[int, int] | None = None) -> nn.Module:
    """The preprocessing fitted on the training inputs ``X``: ``Standardize``, or for kind ``table`` a
    ``TableEncoder`` (imputation, scaling, one-hot; ``categorical``: column index -> category count)."""
    if kind == "table":
        from semisup.nets.table import TableEncoder

        return TableEncoder.from_data(X, categorical)
    return Standardize.from_data(X, kind)


def encoded_shape(encoder: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of one example after ``encoder``: what the net must take (tables: one-hot widens rows)."""
    out_dim = getattr(encoder, "out_dim", None)
    return tuple(input_shape) if out_dim is None else (int(out_dim),)


def with_standardize(
    net: nn.Module, X: Tensor, kind: str, categorical: dict[int, int] | None = None
) -> nn.Sequential:
    """``nn.Sequential(input_encoder(X, kind, categorical), net)``: the model then takes raw inputs.

    For tables ``net`` must take ``encoded_shape(input_encoder(...), (D,))``."""
    return nn.Sequential(input_encoder(X, kind, categorical), net)


@torch.no_grad()
def check_user_net(net: nn.Module, input_shape: tuple[int, ...], num_classes: int) -> None:
    """Check that any ``nn.Module`` maps a dummy batch ``(2, *input_shape)`` to finite ``(2, num_classes)``.

    Runs in eval mode (BatchNorm would fail on tiny batches otherwise) and restores every submodule's
    mode afterwards.

    Raises:
        ValueError: if the forward fails, or its output is not a finite ``(2, num_classes)`` tensor.
    """
    if not isinstance(net, nn.Module):
        raise ValueError(f"the network must be a torch.nn.Module, got {type(net).__name__}")
    param = next(iter(net.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    x = torch.randn((2, *input_shape), generator=torch.Generator().manual_seed(0)).to(device, dtype)
    modes = [(m, m.training) for m in net.modules()]
    net.eval()
    try:
        out = net(x)
    except Exception as err:
        raise ValueError(f"the network failed on a dummy batch of shape {tuple(x.shape)}: {err}") from err
    finally:
        for m, training in modes:
            m.training = training
    if not isinstance(out, Tensor):
        raise ValueError(f"the network must return a logits tensor, got {type(out).__name__}")
    if tuple(out.shape) != (2, num_classes):
        raise ValueError(
            f"the network must map inputs of shape (N, {', '.join(map(str, input_shape))}) to logits "
            f"(N, {num_classes}); a batch of 2 gave {tuple(out.shape)}"
        )
    if not bool(torch.isfinite(out).all()):
        raise ValueError("the network gave non-finite logits (NaN or inf) on a dummy batch")
