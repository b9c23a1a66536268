"""Distillation on unlabeled data: a student learns a frozen teacher's temperature-softened predictions.

SimCLRv2's third step (Chen et al., "Big Self-Supervised Models are Strong Semi-Supervised Learners",
NeurIPS 2020, https://arxiv.org/abs/2006.10029, eq. 2), after Hinton et al. 2015
(https://arxiv.org/abs/1503.02531): the fine-tuned teacher labels the unlabeled data softly and a
student of the same or a smaller net trains on those targets, optionally with the labeled loss.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.losses import distillation_loss
from semisup.registry import ALGORITHMS

VIEWS = ("none", "weak", "strong")


@ALGORITHMS.register("distill")
class Distill(Algorithm):
    """loss = α · CE(x_lb) + (1 − α) · mean_b T² · KL( softmax(t(v_t u)/T) ‖ softmax(s(v_s u)/T) ).

    The teacher t is the run folder ``teacher`` (its EMA weights when it kept them, as ``semisup.load``
    gives them), loaded in ``attach``, frozen and always in eval mode; it is a submodule of the
    algorithm, so checkpoints carry it and a resumed run needs no teacher folder. With ``teacher`` empty
    the teacher is a frozen copy of the model as ``attach`` receives it: with ``train.init`` pointing at
    the fine-tuned run this is self-distillation from that run's weights.

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

    def attach(self, model: nn.Module) -> None:
        if self.cfg.teacher:
            from semisup.predictor import load

            pred = load(self.cfg.teacher)
            if len(pred.classes_) != self.num_classes:
                raise ValueError(
                    f"teacher {self.cfg.teacher} predicts {len(pred.classes_)} classes, the data has "
                    f"{self.num_classes}"
                )
            teacher = pred.model
        else:
            teacher = copy.deepcopy(model)
        ref = next(model.parameters())
        self.teacher = teacher.to(ref.device).eval().requires_grad_(False)

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
