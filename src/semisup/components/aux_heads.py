"""Training-only heads on a classifier net's features (a rotation head, a feature projection).

ReMixMatch and CRMatch need more than the class logits: they predict an image's rotation from the net's
features, and CRMatch compares projected features of two views. ``attach_aux_heads`` puts the heads on
the net (``net.aux_heads``), so the optimizer, DDP and the EMA copy cover them like any other layer, and
hooks ``net.classifier`` so every forward pass keeps the classifier's input (the features): one pass
through the wrapped model gives logits and features together.

The net's ``state_dict`` leaves the heads out, so a saved model stays the plain classifier that
``semisup.load`` and ``--init`` read; the algorithm carries the head weights in its own state instead
(``get_extra_state`` returns ``heads.state_dict()``), so checkpoints still restore them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor, nn

from semisup.nets.build import Standardize
from semisup.nets.heads import classifier_net

ATTR = "aux_heads"


class AuxiliaryHeads(nn.ModuleDict):
    """Named heads ``(N, feature_dim) -> (N, ...)`` and the features of the net's last forward pass.

    Example:
        >>> heads = AuxiliaryHeads({"rotation": nn.Linear(8, 4)})
        >>> heads["rotation"].out_features
        4
    """

    def __init__(self, heads: Mapping[str, nn.Module]) -> None:
        super().__init__(heads)
        self._features: Tensor | None = None

    def capture(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        """Forward pre-hook of ``net.classifier``: keep its input. A bound method, so the EMA's deep copy
        of the model rebinds it to the copy's heads and never overwrites these features."""
        self._features = args[0]

    def take_features(self) -> Tensor:
        """The classifier input (N, feature_dim) of the last forward pass, handed out once (the tensor
        and its graph are not kept alive until the next pass).

        Raises:
            RuntimeError: no forward pass of the net since the last call.
        """
        if self._features is None:
            raise RuntimeError("no forward pass of the net since the features were last taken")
        features, self._features = self._features, None
        return features


def _is_aux_key(key: str) -> bool:
    return ATTR in key.split(".")


def _drop_aux_keys(module: nn.Module, state: dict[str, Any], prefix: str, local_metadata: Any) -> None:
    for key in [k for k in state if k.startswith(prefix + ATTR + ".")]:
        del state[key]


def _allow_missing_aux(module: nn.Module, incompatible: Any) -> None:
    # The heads' weights come from the algorithm's state, never from the model's.
    incompatible.missing_keys[:] = [k for k in incompatible.missing_keys if not _is_aux_key(k)]


def takes_images(model: nn.Module) -> bool:
    """Whether the engine's ``Sequential(Standardize, net)`` standardises (N, C, H, W) images: the
    buffers of ``Standardize`` are (1, C, 1, 1) for images only."""
    enc = model[0] if isinstance(model, nn.Sequential) and len(model) == 2 else None
    return isinstance(enc, Standardize) and enc.mean.ndim == 4


def attach_aux_heads(model: nn.Module, heads: Mapping[str, Callable[[int], nn.Module]]) -> AuxiliaryHeads:
    """Build each head from the net's ``feature_dim``, put them on the net and start capturing features.

    Args:
        model: the engine's ``Sequential(encoder, net)`` (or a bare built-in net).
        heads: name -> factory ``feature_dim -> nn.Module``.

    Raises:
        ValueError: the net has no ``classifier``/``feature_dim``, or already carries heads.
    """
    net = classifier_net(model)
    if hasattr(net, ATTR):
        raise ValueError(f"{type(net).__name__} already carries auxiliary heads")
    d = int(net.feature_dim)
    ref = next(net.classifier.parameters())
    aux = AuxiliaryHeads({name: make(d) for name, make in heads.items()}).to(ref.device)
    net.add_module(ATTR, aux)
    net.classifier.register_forward_pre_hook(aux.capture)
    net.register_state_dict_post_hook(_drop_aux_keys)
    net.register_load_state_dict_post_hook(_allow_missing_aux)
    return aux


def rotation_head(hidden: bool) -> Callable[[int], nn.Module]:
    """A 4-way rotation classifier on d features: linear (ReMixMatch's code) or, with ``hidden``,
    Linear(d, d) → ReLU → Linear(d, 4) (CRMatch's)."""

    def make(d: int) -> nn.Module:
        if not hidden:
            return nn.Linear(d, 4)
        return nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    return make


class AuxHeadsState:
    """Mixin for an algorithm (an ``nn.Module``) whose objective uses auxiliary heads on the model.

    ``attach_heads`` builds them on the model; ``heads`` returns them. They are held in a tuple, not
    as an attribute ``nn.Module`` would register: they are the model's parameters (trained, averaged by
    DDP), never the algorithm's. The algorithm's state carries their weights (``get_extra_state``), so
    a checkpoint restores them although the model's own state leaves them out.
    """

    _aux: tuple[AuxiliaryHeads, ...] = ()

    def attach_heads(self, model: nn.Module, heads: Mapping[str, Callable[[int], nn.Module]]) -> None:
        self._aux = (attach_aux_heads(model, heads),)

    @property
    def heads(self) -> AuxiliaryHeads:
        if not self._aux:
            raise RuntimeError(f"{type(self).__name__} needs attach(model) before training")
        return self._aux[0]

    def get_extra_state(self) -> dict[str, Any]:
        return {"heads": self._aux[0].state_dict()} if self._aux else {}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if "heads" in state:
            self.heads.load_state_dict(state["heads"])
