"""Starting a model from pretrained weights: a run folder (e.g. ``semisup pretrain``), a PyTorch state
dict (``.pt``/``.pth``) or a safetensors file; used by ``train.init`` / ``semisup train --init``.

Keys are matched by name into the engine's ``Sequential(Standardize, net)`` (``0.mean``, ``1.body...``);
a bare net's state dict (``body...``, ``classifier...``) is accepted too. The encoder must match; the
classifier loads only where its shape matches (same classes), and a projection head (SimCLR) is either
dropped or, with ``head_layers`` = k > 0, its first k blocks are kept under a new linear classifier
(SimCLRv2's fine-tuning from the middle of the head; the head itself is ``semisup.nets.heads``'s).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from semisup.engine.checkpoint import CKPT_NAME, model_state, read_checkpoint
from semisup.nets.heads import HeadSpec, head_blocks, head_specs, middle_layer_head, put_head

HEAD = "1.classifier."


class InitError(ValueError):
    """The init source cannot be read or does not fit the net; the message says which keys and why."""


@dataclass
class InitReport:
    """What ``load_init`` did. ``missing``: model keys left at their fresh initialisation; ``unused``:
    source keys not loaded (a projection head's later layers, another classifier); ``head``: the
    ``HeadSpec`` (as a dict) of the classifier built from the kept head blocks, or None."""

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    head: dict | None = None

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
        d = json.loads(path.read_text())
        if "head_dims" in d:  # written before ``head``: the widths of the kept projection-head blocks
            dims = d.pop("head_dims")
            specs = head_specs({"classifier_head": dims}) if dims else []
            d["head"] = specs[0].to_dict() if specs else None
        return cls(**d)

    @property
    def head_spec(self) -> HeadSpec | None:
        return HeadSpec.from_dict(self.head) if self.head else None


def read_init_state(source: str | Path) -> dict[str, Tensor]:
    """The source's tensors keyed as in ``Sequential(Standardize, net)``.

    Raises:
        InitError: no such file or folder, an unreadable file, or safetensors not installed.
    """
    path = Path(source)
    if path.is_dir():
        ckpt_path = path / "checkpoints" / CKPT_NAME
        if not ckpt_path.exists():
            raise InitError(f"{path} is a folder but not a run folder: {ckpt_path} is missing")
        return _normalise(model_state(read_checkpoint(ckpt_path)))
    if not path.is_file():
        raise InitError(f"init source {str(path)!r} does not exist (give a run folder, .pt or .safetensors)")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise InitError(
                f"reading {path} needs the safetensors package: pip install safetensors"
            ) from None
        return _normalise(load_file(str(path)))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise InitError(f"cannot read {path} as a PyTorch state dict: {e}") from e
    if isinstance(obj, dict) and "config" in obj and "model" in obj:  # a semisup checkpoint file
        return _normalise(model_state(obj))
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise InitError(f"{path} holds no state dict (a mapping of names to tensors)")
    return _normalise(obj)


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
    state = read_init_state(source)
    report = InitReport(str(source))
    if head_layers < 0:
        raise InitError(f"init_head_layers must be >= 0, got {head_layers}")
    if head_layers > 0:
        n_blocks = head_blocks(state, HEAD)
        if not n_blocks:
            raise InitError(f"init_head_layers={head_layers} needs a pretraining run with a projection head")
        if head_layers >= n_blocks:
            raise InitError(
                f"init_head_layers={head_layers} but the projection head has {n_blocks} layers: keep at "
                f"most {n_blocks - 1} (the last one is the contrastive output)"
            )
        spec = middle_layer_head(state, HEAD, head_layers)
        put_head(model, spec, num_classes)
        report.head = spec.to_dict()

    # The kept head blocks load by name; the later ones (``{k}.0.weight`` ...) match no key of the new
    # classifier (``{k}.weight``) and end up unused, as does a plain classifier's under a projection head.
    target = model.state_dict()
    use, bad = {}, []
    for k, v in state.items():
        is_cls = k.startswith(HEAD)
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
