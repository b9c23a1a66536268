"""A finished run's model rebuilt from its folder: for ``semisup.load``, ``--init`` sources and the models
of other runs an algorithm uses (distillation's teacher, through ``Algorithm.run_models``).

The engine writes the checkpoint, so reading it back lives here too: the config and ``meta`` rebuild the
net (heads included, ``semisup.nets.heads``), the weights fill it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor, nn

from semisup.config import RunConfig
from semisup.engine.checkpoint import CKPT_NAME, model_state, read_checkpoint
from semisup.nets.build import Standardize, build_net, encoded_shape
from semisup.nets.dual_head import add_dual_head
from semisup.nets.heads import HEADS, classifies, head_specs, put_head
from semisup.nets.open_set_head import attach_open_set_head
from semisup.nets.table import TableEncoder
from semisup.registry import ALGORITHMS


class RunFolderError(ValueError):
    """A run folder that cannot give a classifier as asked (a pretraining run, a custom net not passed)."""


def read_classifier(run_dir: str | Path, use_ema: bool = True) -> tuple[RunConfig, dict[str, Any], dict]:
    """The config, checkpoint ``meta`` and model weights (``model_state``) of a run that trained a
    classifier.

    Raises:
        FileNotFoundError: ``run_dir`` holds no finished run.
        RunFolderError: the run's model outputs no class scores (self-supervised pretraining).
    """
    path = Path(run_dir) / "checkpoints" / CKPT_NAME
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a finished run folder: {path} is missing")
    ckpt = read_checkpoint(path)
    cfg = RunConfig.from_dict(ckpt["config"])
    if not classifies(ckpt["meta"]):
        raise RunFolderError(
            f"{run_dir} is a self-supervised pretraining run ({cfg.algorithm}): it has no classifier. "
            f"Fine-tune it first: semisup train --init {run_dir} ..."
        )
    return cfg, ckpt["meta"], model_state(ckpt, use_ema)


def rebuild_model(
    cfg: RunConfig, meta: dict[str, Any], state: dict[str, Tensor], net: nn.Module | None = None
) -> nn.Module:
    """The ``Sequential(encoder, net)`` a run trained, from its config, checkpoint ``meta`` and weights
    (keys as ``model.state_dict()`` gives them; a table encoder's widths are read from them).

    Args:
        net: for a run that trained a user-supplied module (``net: custom``), an untrained instance of it.

    Raises:
        RunFolderError: a run that trained a custom net, without ``net``.
    """
    input_shape, kind, n_classes = tuple(meta["input_shape"]), meta["kind"], len(meta["classes"])
    encoder = (
        TableEncoder.from_state(state, "0.") if kind == "table" else Standardize.identity(input_shape, kind)
    )
    if cfg.net != "custom":
        net = build_net(cfg.net, encoded_shape(encoder, input_shape), n_classes, cfg.net_args)
    elif net is None:
        raise RunFolderError(
            "the run trained a custom net (a user nn.Module), which its config cannot rebuild: pass an "
            "untrained instance of it"
        )
    for spec in head_specs(meta):
        if spec.name not in HEADS:
            ALGORITHMS.names()  # an algorithm module may register the head it declares: import them
        put_head(net, spec, n_classes)
    if meta.get("dual_head"):  # ABC, ACR: a standard and a balanced head; the balanced one predicts
        add_dual_head(net)
    if "open_set_head" in meta:  # OpenMatch / IOMatch: the detector sits beside the classifier
        head = meta["open_set_head"]
        attach_open_set_head(net, head["kind"], n_classes, int(head["proj_dim"]))
    model = nn.Sequential(encoder, net)
    model.load_state_dict(state)
    return model


class SavedRuns:
    """The engine's ``RunModels`` (``semisup.algorithms.base``): other runs' models, read from their
    folders or rebuilt from the spec and weights this run's checkpoint carries."""

    def read(self, run_dir: str | Path) -> tuple[nn.Module, dict[str, Any]]:
        cfg, meta, state = read_classifier(run_dir)
        spec = {"config": cfg.to_dict(), "meta": meta}
        return rebuild_model(cfg, meta, state), spec

    def rebuild(self, spec: dict[str, Any], state: dict[str, Tensor]) -> nn.Module:
        return rebuild_model(RunConfig.from_dict(spec["config"]), spec["meta"], state)
