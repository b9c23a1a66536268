"""Distillation on unlabeled data: a student learns a frozen teacher's temperature-softened predictions.

SimCLRv2's third step (Chen et al., "Big Self-Supervised Models are Strong Semi-Supervised Learners",
NeurIPS 2020, https://arxiv.org/abs/2006.10029, eq. 2), after Hinton et al. 2015
(https://arxiv.org/abs/1503.02531): the fine-tuned teacher labels the unlabeled data softly and a
student of the same or a smaller net trains on those targets, optionally with the labeled loss.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, RunModels, StepContext, forward_cat, ssl_logs
from semisup.losses import distillation_loss
from semisup.registry import ALGORITHMS

VIEWS = ("none", "weak", "strong")


@ALGORITHMS.register("distill")
class Distill(Algorithm):
    """loss = α · CE(x_lb) + (1 − α) · mean_b T² · KL( softmax(t(v_t u)/T) ‖ softmax(s(v_s u)/T) ).

    The teacher t is the run folder ``teacher`` (its EMA weights when it kept them, as ``semisup.load``
    gives them), read in ``attach`` through the engine's ``run_models``, frozen and always in eval mode;
    it is a submodule of the algorithm, and its config and meta are the algorithm's extra state, so
    checkpoints carry it whole and a resumed run rebuilds it from the checkpoint, never reading the
    teacher folder. With
    ``teacher`` empty the teacher is a frozen copy of the model as ``attach`` receives it: with
    ``train.init`` pointing at the fine-tuned run this is self-distillation from that run's weights.

    Config: ``teacher`` (run folder), ``T``=1 (temperature; SimCLRv2 uses 1), ``alpha``=0 (weight of the
    labeled CE; SimCLRv2 uses 0 or mixes it in when labels are many), ``teacher_view``="weak" and
    ``student_view``="strong" (one of none | weak | strong; the teacher's targets come from the weak or
    clean view, the student sees the same or a noisier one). The unlabeled stream covers every training
    input under the default ``data.unlabeled_includes_labeled``.
    """

    paper = "Chen et al. 2020 (SimCLRv2 distillation), https://arxiv.org/abs/2006.10029"
    unlabeled_views = ("weak", "strong")

    @dataclass
    class Config:
        teacher: str = ""
        T: float = 1.0
        alpha: float = 0.0
        teacher_view: str = "weak"
        student_view: str = "strong"

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if not cfg.T > 0:
            raise ValueError(f"T must be > 0, got {cfg.T}")
        if not 0.0 <= cfg.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {cfg.alpha}")
        for name in ("teacher_view", "student_view"):
            if getattr(cfg, name) not in VIEWS:
                raise ValueError(f"{name} must be one of {', '.join(VIEWS)}, got {getattr(cfg, name)!r}")
        self.unlabeled_views = (cfg.teacher_view, cfg.student_view)  # type: ignore[misc]
        self.teacher: nn.Module | None = None
        # What rebuilds a teacher read from a run folder: its config and checkpoint meta (None for a
        # copy of the model, which the model's own build recreates).
        self.teacher_spec: dict[str, Any] | None = None
        self.device = torch.device("cpu")

    def attach(self, model: nn.Module) -> None:
        self.device = next(model.parameters()).device
        if self.cfg.teacher and self.restoring:
            return  # rebuilt from the checkpoint as it is restored (_load_from_state_dict)
        if self.cfg.teacher:
            teacher, self.teacher_spec = self._runs().read(self.cfg.teacher)
            n_teacher = len(self.teacher_spec["meta"]["classes"])
            if n_teacher != self.num_classes:
                raise ValueError(
                    f"teacher {self.cfg.teacher} predicts {n_teacher} classes, the data has "
                    f"{self.num_classes}"
                )
        else:
            teacher = copy.deepcopy(model)
        self._set_teacher(teacher)

    def _runs(self) -> RunModels:
        if self.run_models is None:
            raise RuntimeError(
                "Distill reads its teacher's run folder through the engine: train with semisup.fit"
            )
        return self.run_models

    def _set_teacher(self, teacher: nn.Module) -> None:
        self.teacher = teacher.to(self.device).eval().requires_grad_(False)

    def get_extra_state(self) -> dict[str, Any]:
        return {"teacher_spec": self.teacher_spec}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.teacher_spec = state.get("teacher_spec")

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # A resumed run: build the teacher's architecture from the saved spec before torch loads the
        # submodules (children load after this call), so the weights land in it.
        spec = (state_dict.get(prefix + "_extra_state") or {}).get("teacher_spec")
        if self.teacher is None and spec is not None:
            inner = prefix + "teacher."
            weights = {k[len(inner) :]: v for k, v in state_dict.items() if k.startswith(inner)}
            self._set_teacher(self._runs().rebuild(spec, weights))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def train(self, mode: bool = True) -> Distill:
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()  # the teacher is a fixed function: BatchNorm uses its running statistics
        return self

    def training_step(self, model, batch, ctx: StepContext):
        if self.teacher is None:
            raise RuntimeError("Distill.attach(model) must be called before training_step")
        u_t, u_s = batch.u_views
        with torch.no_grad():
            teacher_logits = self.teacher(u_t).float()
        logits_x, logits_u = forward_cat(model, batch.x_lb, u_s)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)
        unsup_loss = distillation_loss(logits_u, teacher_logits, self.cfg.T).mean()

        loss = self.cfg.alpha * sup_loss + (1.0 - self.cfg.alpha) * unsup_loss
        return loss, ssl_logs(sup_loss, unsup_loss, pseudo=teacher_logits.argmax(-1), u_true=batch.u_true)
