"""What every algorithm is: a loss from a typed batch. The engine owns the update.

An algorithm never calls ``backward`` or an optimizer. It declares the views it needs
(``labeled_view``, ``unlabeled_views``) and computes ``(loss, logs)`` in ``training_step``. State
that lives across steps (teachers, memories, thresholds) is registered as buffers or submodules, so
``state_dict`` carries it into checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semisup.collective import Collective
from semisup.data.batch import Batch, pseudo_label_accuracy
from semisup.nets.heads import HeadSpec

Logs = dict[str, Tensor | float]


class RunModels(Protocol):
    """Models of other runs, for an algorithm that uses one (distillation's teacher). The engine, which
    writes and reads run folders, sets ``Algorithm.run_models`` to one before ``attach``; an algorithm
    imports nothing above its layer to get them."""

    def read(self, run_dir: str) -> tuple[nn.Module, dict[str, Any]]:
        """The classifier a run folder saved (its EMA weights when it kept them) and its spec: the
        ``config`` and checkpoint ``meta`` that rebuild it."""
        ...

    def rebuild(self, spec: dict[str, Any], state: dict[str, Tensor]) -> nn.Module:
        """The model of ``spec`` (as ``read`` returned it) holding the weights ``state``."""
        ...


@dataclass
class StepContext:
    """Where training stands: ``step`` in 0..``total_steps``-1, and ``dist``, the collectives across DDP
    ranks (identity on one process). State that an algorithm updates from its batch (thresholds, EMAs,
    memories) takes its inputs through ``dist.all_gather``, so it follows the global batch; the loss
    stays on the local batch and DDP averages the gradients."""

    step: int
    total_steps: int
    dist: Collective = field(default_factory=Collective)

    @property
    def progress(self) -> float:
        return self.step / max(1, self.total_steps)


class Algorithm(nn.Module):
    """Base class. Subclasses set ``Config``, the views, and implement ``training_step``.

    Args:
        cfg: an instance of the subclass's ``Config``.
        num_classes: C.
        n_unlabeled: size of the unlabeled pool (for per-example state).
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    paper: ClassVar[str] = ""
    labeled_view: ClassVar[str] = "weak"
    unlabeled_views: ClassVar[tuple[str, ...]] = ()
    # Further views of the same labeled examples, in ``batch.lb_views`` (DeFixMatch's and AdaMatch's
    # strong view of the labeled batch); drawn only for algorithms that declare them.
    labeled_extra_views: ClassVar[tuple[str, ...]] = ()
    # Unlabeled examples per labeled one (μ) when ``data.mu`` is not set: the paper's ratio. FixMatch's
    # μ = 7 is the common protocol of the FixMatch family; methods whose loss depends on the mix of the
    # two batches (MixMatch's MixUp) declare their own.
    default_mu: ClassVar[int] = 7
    # Overrides the contract tests apply so the unsupervised term is active on an untrained net
    # (e.g. FixMatch's 0.95 threshold masks everything at step 0).
    contract_overrides: ClassVar[dict[str, Any]] = {}
    # A self-supervised objective (e.g. SimCLR) ignores labels: it trains on every training input
    # through the unlabeled stream, draws no labeled batch, and its model has no classifier to validate.
    self_supervised: ClassVar[bool] = False
    # Set by the engine before ``attach`` when a checkpoint is about to be restored: what ``attach`` would
    # read from outside the run (e.g. a teacher's run folder) comes from the checkpoint instead.
    restoring: bool = False
    # Set by the engine before ``attach``: how to get another run's model (see ``RunModels``).
    run_models: RunModels | None = None

    def __init__(self, cfg: Any, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_classes = num_classes
        self.n_unlabeled = n_unlabeled

    @property
    def uses_unlabeled(self) -> bool:
        return len(self.unlabeled_views) > 0

    def training_step(
        self, model: Callable[[Tensor], Tensor], batch: Batch, ctx: StepContext
    ) -> tuple[Tensor, Logs]:
        """Return the scalar loss to minimise and named values to log (``train/...``)."""
        raise NotImplementedError

    def attach(self, model: nn.Module) -> None:
        """Called once with the freshly built model before training (and before a checkpoint is
        restored), e.g. to create an EMA teacher as a submodule so checkpoints carry it."""

    def model_heads(self) -> list[HeadSpec]:
        """Heads the objective puts in place of the net's classifier, in order (SimCLR: its projection
        head). The engine builds them on the model before ``attach`` and saves them in the checkpoint's
        ``meta``, so ``semisup.load``, ``--init`` and a resumed run rebuild the same model."""
        return []

    def meta(self) -> dict[str, Any]:
        """Further checkpoint ``meta`` entries needed to rebuild the model."""
        return {}

    def after_step(self, model: nn.Module) -> None:
        """Called by the engine after the optimizer step (e.g. to update a teacher). No gradients here."""

    def observe_labels(self, y_lb: Tensor) -> None:
        """Called by the engine once before training (and before a checkpoint is restored) with the
        labels (L,) of the whole labeled set, e.g. for its class distribution (long-tailed methods)."""


def check_shared_fields(name: str, cfg: Any) -> None:
    """The fields many algorithms share, for their constructors (Python callers; configs are also checked
    when built, ``config.check_ranges``): a confidence ``threshold`` in [0, 1], a temperature ``T`` > 0.

    Raises:
        ValueError: naming ``<algorithm>.<field>``, the allowed range and the value.
    """
    threshold, T = getattr(cfg, "threshold", None), getattr(cfg, "T", None)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"{name}.threshold must be in [0, 1], got {threshold}")
    if T is not None and not T > 0:
        raise ValueError(f"{name}.T must be > 0, got {T}")


def forward_cat(model: Callable[[Tensor], Tensor], *xs: Tensor) -> tuple[Tensor, ...]:
    """One forward pass over concatenated inputs, split back: BN sees one batch, DDP one call."""
    logits = model(torch.cat(xs))
    return tuple(logits.split([x.shape[0] for x in xs]))


def weak_strong_forward(model: Callable[[Tensor], Tensor], batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
    """The FixMatch family's pass: one forward over (x_lb, u_weak, u_strong).

    Returns:
        sup_loss: CE on the labeled batch. logits_u_w: (μB, C) weak-view logits, detached, float32 —
        targets only, no gradient flows through them. logits_u_s: (μB, C) strong-view logits, float32.
    """
    u_w, u_s = batch.u_views
    logits_x, logits_u_w, logits_u_s = forward_cat(model, batch.x_lb, u_w, u_s)
    sup_loss = F.cross_entropy(logits_x, batch.y_lb)
    return sup_loss, logits_u_w.detach().float(), logits_u_s.float()


def ssl_logs(
    sup_loss: Tensor,
    unsup_loss: Tensor | None = None,
    *,
    mask: Tensor | None = None,
    pseudo: Tensor | None = None,
    u_true: Tensor | None = None,
    **extra: Tensor | float,
) -> Logs:
    """The log names every algorithm shares, so runs compare at a glance.

    ``train/sup_loss``, ``train/unsup_loss``, ``train/mask_ratio`` (mean of the (soft) mask),
    ``train/pseudo_acc`` (when ``pseudo`` is given and true labels are known), plus ``extra`` as
    ``train/<name>``.
    """
    logs: Logs = {"train/sup_loss": sup_loss.detach()}
    if unsup_loss is not None:
        logs["train/unsup_loss"] = unsup_loss.detach()
    if mask is not None:
        logs["train/mask_ratio"] = mask.mean()
    logs.update({f"train/{k}": v for k, v in extra.items()})
    if pseudo is not None:
        acc = pseudo_label_accuracy(pseudo, u_true, mask)
        if acc is not None:
            logs["train/pseudo_acc"] = acc
    return logs
