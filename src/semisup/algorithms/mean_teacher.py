"""Mean Teacher: the student's prediction should agree with that of an average of its own past weights.

Tarvainen & Valpola, "Mean teachers are better role models: Weight-averaged consistency targets improve
semi-supervised deep learning results", NeurIPS 2017. https://arxiv.org/abs/1703.01780
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext, forward_cat, ssl_logs
from semisup.components.ema import EMA
from semisup.losses import mse_probs, sigmoid_rampup
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("mean_teacher")
class MeanTeacher(Algorithm):
    """loss = CE(x_lb) + w(t) · mean_b (1/C)‖softmax(f_θ(aug₁ u)) − softmax(f_θ'(aug₂ u))‖².

    The teacher θ' = α·θ' + (1−α)·θ after every optimizer step, with α = ``ema_decay_rampup`` (0.99)
    during the ramp-up and ``ema_decay`` (0.999) after it, as in the paper's experiments, capped at
    1 − 1/(n+1) for the n-th update as in the authors' PyTorch code (the teacher is the plain average
    of the weights so far until the EMA has seen enough of them; without it a short run's teacher
    stays near the random initialisation and pulls the student back to it). It is a frozen
    deep copy of the model made in ``attach`` and a submodule of the algorithm, so checkpoints carry it;
    buffers (BatchNorm statistics) are copied from the student. The teacher never receives gradients
    (its pass runs under ``torch.no_grad``) and runs in the student's train/eval mode.

    w(t) = ``lambda_u`` · exp(−5(1−t)²) over the first ``rampup`` of training: the paper's code ramps over
    40k of 150k steps. Its maximum consistency cost of 100 multiplies the squared softmax difference
    averaged over classes and over the minibatch, the supervised CE being averaged over the same
    minibatch; with each term averaged over its own examples, as here, the same balance is
    ``lambda_u`` = 100 (see ``PiModel``). Unlike the paper (``apply_consistency_to_labeled``), the
    consistency term covers the unlabeled batch only, as in every other algorithm here.

    Attributes:
        teacher: the EMA copy of the model (``requires_grad`` off), created by ``attach``.
        num_updates: () long buffer, the number of teacher updates so far.
    """

    paper = "Tarvainen & Valpola 2017, https://arxiv.org/abs/1703.01780"
    unlabeled_views = ("weak", "weak")
    # One unlabeled example per labeled one, the shared protocol of Oliver et al. 2018 (the authors' code
    # uses ≈3: 62 labeled in batches of 256). Measured on digits (4 labels/class, 1,000 steps, seed 0):
    # μ = 1, 3, 7 give 91.9, 88.3, 84.8 % (single runs; BENCHMARKS.md has the 3-seed table).
    default_mu = 1
    contract_overrides = {"rampup": 0.0}

    @dataclass
    class Config:
        lambda_u: float = 100.0
        rampup: float = 40_000 / 150_000
        ema_decay: float = 0.999
        ema_decay_rampup: float = 0.99

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        for name in ("ema_decay", "ema_decay_rampup"):
            if not 0.0 <= getattr(cfg, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(cfg, name)}")
        self.ema: EMA | None = None
        self._in_rampup = True  # set by training_step from the step's progress, read by after_step

    def attach(self, model: nn.Module) -> None:
        self.ema = EMA(model, self.cfg.ema_decay, warmup="mean_teacher")

    @property
    def teacher(self) -> nn.Module | None:
        return None if self.ema is None else self.ema.module

    @property
    def num_updates(self) -> torch.Tensor:
        return self.ema.num_updates

    def training_step(self, model, batch, ctx: StepContext):
        if self.teacher is None:
            raise RuntimeError("MeanTeacher.attach(model) must be called before training_step")
        u1, u2 = batch.u_views
        # Student: the model being trained, on the labeled batch and the first view.
        logits_x, logits_u = forward_cat(model, batch.x_lb, u1)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)

        # Teacher: the EMA copy, on the second view; a target only.
        self.teacher.train(getattr(model, "training", True))
        with torch.no_grad():
            teacher_logits_u = self.teacher(u2)
        unsup_loss = mse_probs(logits_u.float(), teacher_logits_u.float(), detach_target=True).mean()

        self._in_rampup = ctx.progress < self.cfg.rampup
        weight = self.cfg.lambda_u * sigmoid_rampup(ctx.progress, self.cfg.rampup)
        loss = sup_loss + weight * unsup_loss
        return loss, ssl_logs(
            sup_loss, unsup_loss, pseudo=teacher_logits_u.argmax(-1), u_true=batch.u_true, unsup_weight=weight
        )

    @torch.no_grad()
    def after_step(self, model: nn.Module) -> None:
        """θ' ← α θ' + (1−α) θ; buffers copied. Called by the engine after each optimizer step."""
        if self.ema is None:
            raise RuntimeError("MeanTeacher.attach(model) must be called before after_step")
        self.ema.update(model, self.cfg.ema_decay_rampup if self._in_rampup else self.cfg.ema_decay)
