"""Starting a model from pretrained weights: a run folder (e.g. ``semisup pretrain``), a PyTorch state
dict (``.pt``/``.pth``) or a safetensors file; used by ``train.init`` / ``semisup train --init``.

Keys are matched by name into the engine's ``Sequential(Standardize, net)`` (``0.mean``, ``1.body...``);
a bare net's state dict (``body...``, ``classifier...``) is accepted too. The encoder must match; the
classifier loads only where its shape matches (same classes), and a projection head (SimCLR) is either
dropped or, with ``head_layers`` = k > 0, its first k blocks are kept under a new linear classifier
(SimCLRv2's fine-tuning from the middle of the head).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from semisup.engine.checkpoint import CKPT_NAME, read_checkpoint
from semisup.nets.heads import head_classifier, head_dims_from_state

HEAD = "1.classifier."


class InitError(ValueError):
    """The init source cannot be read or does not fit the net; the message says which keys and why."""


@dataclass
class InitReport:
    """What ``load_init`` did. ``missing``: model keys left at their fresh initialisation; ``unused``:
    source keys not loaded (a projection head's later layers, another classifier); ``head_dims``: the
    widths of the head blocks kept under the classifier, or None."""

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    head_dims: list[int] | None = None

    def __str__(self) -> str:
        def names(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f", ... (+{len(keys) - 8})" if len(keys) > 8 else "")

        lines = [f"init from {self.source}: {len(self.loaded)} tensors loaded"]
        if self.missing:
            lines.append(f"  missing (kept fresh): {names(self.missing)}")
        if self.unused:
            lines.append(f"  unused from source: {names(self.unused)}")
        return "\n".join(lines)

    def to_json(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> InitReport:
        return cls(**json.loads(path.read_text()))


def read_init_state(source: str | Path) -> tuple[dict[str, Tensor], bool]:
    """The source's tensors keyed as in ``Sequential(Standardize, net)``, and whether its classifier
    slot holds a projection head (a self-supervised run).

    Raises:
        InitError: no such file or folder, an unreadable file, or safetensors not installed.
    """
    path = Path(source)
    if path.is_dir():
        ckpt_path = path / "checkpoints" / CKPT_NAME
        if not ckpt_path.exists():
            raise InitError(f"{path} is a folder but not a run folder: {ckpt_path} is missing")
        return _from_checkpoint(read_checkpoint(ckpt_path))
    if not path.is_file():
        raise InitError(f"init source {str(path)!r} does not exist (give a run folder, .pt or .safetensors)")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise InitError(
                f"reading {path} needs the safetensors package: pip install safetensors"
            ) from None
        return _normalise(load_file(str(path))), False
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InitError(f"cannot read {path} as a PyTorch state dict: {e}") from e
    if isinstance(obj, dict) and "config" in obj and "model" in obj:  # a semisup checkpoint file
        return _from_checkpoint(obj)
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise InitError(f"{path} holds no state dict (a mapping of names to tensors)")
    return _normalise(obj), False


def _from_checkpoint(ckpt: dict) -> tuple[dict[str, Tensor], bool]:
    if "ema" in ckpt:  # the EMA wrapper keeps the model under ``module.``, as the predictor reads it
        state = {k[len("module.") :]: v for k, v in ckpt["ema"].items() if k.startswith("module.")}
    else:
        state = dict(ckpt["model"])
    return _normalise(state), "projection_head" in ckpt.get("meta", {})


def _normalise(state: dict[str, Tensor]) -> dict[str, Tensor]:
    state = {k.removeprefix("_orig_mod.").removeprefix("module."): v for k, v in state.items()}
    if any(k.startswith("1.") for k in state) and "0.mean" in state:
        return state
    return {f"1.{k}": v for k, v in state.items()}  # a bare net


def load_init(model: nn.Module, source: str | Path, num_classes: int, head_layers: int = 0) -> InitReport:
    """Load ``source`` into ``model`` (``Sequential(Standardize, net)``) in place.

    Args:
        head_layers: keep this many projection-head blocks of a SimCLR run under a new classifier
            (SimCLRv2 fine-tunes from the first: 1); 0 drops the head.

    Raises:
        InitError: unreadable source; an encoder tensor whose shape differs from the net's; no
            tensor of the source matching the net at all; ``head_layers`` without a projection head.
    """
    state, has_head = read_init_state(source)
    report = InitReport(str(source))
    if head_layers < 0:
        raise InitError(f"init_head_layers must be >= 0, got {head_layers}")
    if head_layers > 0:
        if not has_head and f"{HEAD}0.0.weight" not in state:
            raise InitError(f"init_head_layers={head_layers} needs a pretraining run with a projection head")
        n_blocks = len({k[len(HEAD) :].split(".")[0] for k in state if k.startswith(HEAD)})
        if head_layers >= n_blocks:
            raise InitError(
                f"init_head_layers={head_layers} but the projection head has {n_blocks} layers: keep at "
                f"most {n_blocks - 1} (the last one is the contrastive output)"
            )
        dims = head_dims_from_state(state, HEAD, head_layers)
        swap_head(model, dims, num_classes)
        report.head_dims = dims

    target = model.state_dict()
    use, bad = {}, []
    for k, v in state.items():
        is_cls = k.startswith(HEAD)
        if is_cls and has_head:
            block = k[len(HEAD) :].split(".")[0]
            if not (block.isdigit() and int(block) < head_layers):
                report.unused.append(k)
                continue
        if k not in target:
            report.unused.append(k)
        elif target[k].shape != v.shape:
            if is_cls:  # another task's classifier: start a fresh one
                report.unused.append(k)
            else:
                bad.append(f"{k}: source {tuple(v.shape)} vs net {tuple(target[k].shape)}")
        else:
            use[k] = v
    if bad:
        raise InitError(
            f"{source} does not fit the net (same net and --net settings?): " + "; ".join(bad[:8])
        )
    if not any(not k.startswith(("0.", HEAD)) for k in use):
        raise InitError(
            f"no encoder tensor of {source} matches the net: source keys look like "
            f"{', '.join(list(state)[:4])}, the net's like {', '.join(list(target)[2:6])}"
        )
    model.load_state_dict(use, strict=False)
    report.loaded = sorted(use)
    report.missing = [k for k in target if k not in use and not k.endswith("num_batches_tracked")]
    return report


def swap_head(model: nn.Module, head_dims: list[int], num_classes: int) -> None:
    """Put the classifier SimCLRv2 fine-tunes (the kept projection-head blocks of widths ``head_dims``
    under a new linear layer) on ``model``; a resumed run rebuilds it so from ``init.json`` alone."""
    from semisup.algorithms.simclr import classifier_net

    net = classifier_net(model)
    ref = next(net.classifier.parameters())
    net.classifier = head_classifier(head_dims, num_classes).to(ref.device)
