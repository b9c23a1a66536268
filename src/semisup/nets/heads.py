"""Heads that replace a net's classifier, and the one place that swaps them.

An objective that changes the model's head (SimCLR's projection head) declares it as a ``HeadSpec``
(``Algorithm.model_heads``): a builder's name in ``HEADS`` and its arguments. The engine puts it on the
model with ``put_head`` and saves the specs in the checkpoint's ``meta["heads"]``; ``semisup.load``,
``--init`` and distillation rebuild the model from them (``head_specs``) without knowing any head. A new
head is a builder registered here or in the objective's own module.

Built in: SimCLRv2's projection head and the classifier that fine-tunes from one of its layers (Chen et
al., "Big Self-Supervised Models are Strong Semi-Supervised Learners", NeurIPS 2020,
https://arxiv.org/abs/2006.10029: a deeper (3-layer) projection head than SimCLR's 2 layers, and
fine-tuning "from the middle layer of the projection head" — the encoder plus the head's first layer,
with a new linear classifier on top — instead of throwing the whole head away).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from semisup.registry import Registry

# name -> builder(classifier, feature_dim, num_classes, **args) -> the module that replaces ``classifier``
HeadBuilder = Callable[..., nn.Module]
HEADS: Registry[HeadBuilder] = Registry("head")


@dataclass
class HeadSpec:
    """A head in place of a net's ``classifier``: ``name``, a builder in ``HEADS``; ``args``, its keyword
    arguments (JSON values: they are saved in the checkpoint); ``classifies``, whether the head outputs
    class scores (False for an embedding such as a projection: the run then cannot predict classes)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    classifies: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "args": dict(self.args), "classifies": self.classifies}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HeadSpec:
        return cls(str(d["name"]), dict(d.get("args") or {}), bool(d.get("classifies", True)))


def classifier_net(model: nn.Module) -> nn.Module:
    """The net inside the engine's ``Sequential(encoder, net)`` (or ``model`` itself), checked to have a
    swappable ``classifier`` on top of ``feature_dim`` features (the built-in nets do).

    Raises:
        ValueError: the net has no ``classifier`` module or no ``feature_dim``.
    """
    net = model[1] if isinstance(model, nn.Sequential) and len(model) == 2 else model
    if not isinstance(getattr(net, "classifier", None), nn.Module) or not hasattr(net, "feature_dim"):
        raise ValueError(
            f"{type(net).__name__} has no 'classifier' module and 'feature_dim': a head in place of the "
            "classifier (pretraining, fine-tuning from a projection head) needs a net like the built-in "
            "mlp, cnn and wrn28_2"
        )
    return net


def put_head(model: nn.Module, spec: HeadSpec, num_classes: int) -> nn.Module:
    """Build ``spec`` from the net's current classifier and ``feature_dim`` and put it in the
    classifier's place, on the classifier's device; return it.

    Raises:
        ValueError: the net has no swappable classifier (``classifier_net``).
        semisup.registry.UnknownNameError: no builder of that name is registered.
    """
    net = classifier_net(model)
    builder = HEADS.get(spec.name)
    ref = next(net.classifier.parameters(), None)
    head = builder(net.classifier, int(net.feature_dim), num_classes, **spec.args)
    net.classifier = head.to(ref.device) if ref is not None else head
    return head


def head_specs(meta: dict[str, Any]) -> list[HeadSpec]:
    """The heads a run put on its net, in order, from its checkpoint ``meta``."""
    specs = [HeadSpec.from_dict(d) for d in meta.get("heads") or ()]
    # Run folders written before ``heads`` existed named SimCLR's two heads by their own keys.
    if "classifier_head" in meta:
        specs.append(HeadSpec("projection_classifier", {"dims": list(meta["classifier_head"])}))
    if "projection_head" in meta:
        dims = list(meta["projection_head"])
        args = {
            "hidden_dim": dims[1] if len(dims) > 2 else 0,
            "out_dim": dims[-1],
            "num_layers": len(dims) - 1,
        }
        specs.append(HeadSpec("simclr_projection", args, classifies=False))
    return specs


def classifies(meta: dict[str, Any]) -> bool:
    """Whether the model a run saved outputs class scores (no head of it replaced them by an embedding)."""
    return all(spec.classifies for spec in head_specs(meta))


def _block(d_in: int, d_out: int, last: bool) -> nn.Sequential:
    # Linear without bias (BatchNorm follows), BatchNorm, and ReLU on every layer but the last.
    layers: list[nn.Module] = [nn.Linear(d_in, d_out, bias=False), nn.BatchNorm1d(d_out)]
    if not last:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SimCLRProjectionHead(nn.Sequential):
    """``num_layers`` blocks of Linear → BatchNorm1d (→ ReLU except the last): (N, in_dim) → (N, out_dim).

    Block ``i`` is ``self[i]``; blocks ``0..num_layers-2`` map to ``hidden_dim``, the last to ``out_dim``.
    SimCLRv2 uses 3 layers with hidden = the encoder's width; ``layers(k)`` returns the first k blocks
    for fine-tuning from the head's k-th layer.

    Raises:
        ValueError: a width < 1 or ``num_layers`` < 1.

    Example:
        >>> import torch
        >>> head = SimCLRProjectionHead(64, 64, 32)
        >>> head(torch.randn(5, 64)).shape
        torch.Size([5, 32])
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 3) -> None:
        if min(in_dim, hidden_dim, out_dim) < 1:
            raise ValueError(f"head widths must be >= 1, got {in_dim}, {hidden_dim}, {out_dim}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        super().__init__(*(_block(dims[i], dims[i + 1], i == num_layers - 1) for i in range(num_layers)))
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_dim) -> (N, out_dim)."""
        return super().forward(x)


def head_classifier(dims: list[int], num_classes: int) -> nn.Sequential:
    """The first ``len(dims) - 1`` projection-head blocks (widths ``dims``) then a new linear classifier.

    Block ``i`` sits at index ``i`` as in ``SimCLRProjectionHead``, so the pretrained head's state-dict
    keys load unchanged; the classifier is ``self[len(dims) - 1]``. The blocks keep their ReLU (they
    were hidden layers of the head).
    """
    if len(dims) < 2:
        raise ValueError(f"dims must hold the input width and at least one block width, got {dims}")
    blocks = [_block(dims[i], dims[i + 1], last=False) for i in range(len(dims) - 1)]
    return nn.Sequential(*blocks, nn.Linear(dims[-1], num_classes))


def head_dims_from_state(state: dict[str, Tensor], prefix: str, num_layers: int) -> list[int]:
    """Widths ``[in, d_1, ..., d_k]`` of the first ``num_layers`` head blocks stored under ``prefix``
    (``prefix + "{i}.0.weight"`` is block i's (d_out, d_in) linear weight).

    Raises:
        ValueError: the state holds fewer head blocks than asked for.
    """
    dims: list[int] = []
    for i in range(num_layers):
        w = state.get(f"{prefix}{i}.0.weight")
        if w is None or w.ndim != 2:
            have = sum(1 for k in state if k.startswith(prefix) and k.endswith(".0.weight"))
            raise ValueError(
                f"asked to fine-tune from projection-head layer {num_layers} but the source has {have} "
                "head layer(s)"
            )
        if not dims:
            dims.append(int(w.shape[1]))
        dims.append(int(w.shape[0]))
    return dims


def head_blocks(state: dict[str, Tensor], prefix: str) -> int:
    """How many projection-head blocks (``{i}.0.weight``: Linear → BatchNorm) ``state`` holds under
    ``prefix``; 0 for a plain classifier."""
    return sum(1 for k in state if k.startswith(prefix) and re.fullmatch(r"\d+\.0\.weight", k[len(prefix) :]))


def middle_layer_head(state: dict[str, Tensor], prefix: str, num_layers: int) -> HeadSpec:
    """The classifier SimCLRv2 fine-tunes: the first ``num_layers`` projection-head blocks stored under
    ``prefix`` in ``state``, under a new linear layer (``head_classifier``).

    Raises:
        ValueError: the state holds fewer head blocks than asked for.
    """
    return HeadSpec("projection_classifier", {"dims": head_dims_from_state(state, prefix, num_layers)})


@HEADS.register("simclr_projection")
def _simclr_projection(
    classifier: nn.Module, feature_dim: int, num_classes: int, hidden_dim: int, out_dim: int, num_layers: int
) -> SimCLRProjectionHead:
    # hidden_dim 0: the encoder's width, as SimCLRv2
    return SimCLRProjectionHead(feature_dim, hidden_dim or feature_dim, out_dim, num_layers)


@HEADS.register("projection_classifier")
def _projection_classifier(
    classifier: nn.Module, feature_dim: int, num_classes: int, dims: list[int]
) -> nn.Sequential:
    return head_classifier(dims, num_classes)
