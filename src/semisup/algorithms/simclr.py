"""SimCLR(v2) pretraining: a contrastive objective over two strong views of every training input.

Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", ICML 2020,
https://arxiv.org/abs/2002.05709, with SimCLRv2's 3-layer projection head (Chen et al., "Big
Self-Supervised Models are Strong Semi-Supervised Learners", NeurIPS 2020, https://arxiv.org/abs/2006.10029).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semisup.algorithms.base import Algorithm, StepContext, forward_cat
from semisup.losses import contrastive_accuracy, nt_xent
from semisup.losses.contrastive import _check_temperature
from semisup.nets.heads import HeadSpec
from semisup.registry import ALGORITHMS


@ALGORITHMS.register("simclr")
class SimCLR(Algorithm):
    """loss = NT-Xent_τ( g(f(aug₁ x)), g(f(aug₂ x)) ) over a batch of μB training inputs; labels unused.

    A self-supervised objective on the one training loop: its head (``model_heads``) replaces the net's
    classifier by the projection head g (``semisup.nets.heads.SimCLRProjectionHead``, ``head_layers``
    blocks, hidden width ``head_hidden`` (0: the encoder's width, as SimCLRv2), output ``head_dim``), so
    the model maps inputs to projections and the optimizer, EMA and checkpoint cover the head like any
    other layer. Both views are the data kind's strong view; the unlabeled stream draws from every
    training input, labeled or not. The run folder is then an ``--init`` source for ``semisup train``.

    Config: ``temperature`` τ=0.5 (SimCLR, CIFAR-10 batches of a few hundred; SimCLRv2 uses 0.1 at
    batch 4096), ``head_layers``=3, ``head_hidden``=0, ``head_dim``=128.

    Logs ``train/unsup_loss`` (NT-Xent), ``train/contrastive_acc`` (positives ranked first) and
    ``train/sup_loss`` = 0 (no labeled term).
    """

    paper = "Chen et al. 2020 (SimCLR/SimCLRv2), https://arxiv.org/abs/2006.10029"
    labeled_view = "none"
    unlabeled_views = ("strong", "strong")
    self_supervised = True

    @dataclass
    class Config:
        temperature: float = 0.5
        head_layers: int = 3
        head_hidden: int = 0
        head_dim: int = 128

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        _check_temperature(cfg.temperature)
        if cfg.head_layers < 1 or cfg.head_dim < 1 or cfg.head_hidden < 0:
            raise ValueError(
                f"need head_layers >= 1, head_dim >= 1, head_hidden >= 0; got {cfg.head_layers}, "
                f"{cfg.head_dim}, {cfg.head_hidden}"
            )

    def model_heads(self) -> list[HeadSpec]:
        args = {
            "hidden_dim": self.cfg.head_hidden,
            "out_dim": self.cfg.head_dim,
            "num_layers": self.cfg.head_layers,
        }
        return [HeadSpec("simclr_projection", args, classifies=False)]

    def training_step(self, model, batch, ctx: StepContext):
        u1, u2 = batch.u_views
        z1, z2 = forward_cat(model, u1, u2)  # one pass: BatchNorm sees both views together
        # Under DDP the negatives are every rank's embeddings (ctx.dist), as in SimCLR's own code.
        unsup_loss = nt_xent(z1, z2, self.cfg.temperature, ctx.dist)
        zero = torch.zeros((), device=unsup_loss.device)
        logs = {
            "train/sup_loss": zero,
            "train/unsup_loss": unsup_loss.detach(),
            "train/contrastive_acc": contrastive_accuracy(z1.detach(), z2.detach(), ctx.dist),
        }
        return unsup_loss, logs
