"""Virtual adversarial training: predictions should not change under the most sensitive small perturbation.

Miyato, Maeda, Koyama & Ishii, "Virtual Adversarial Training: A Regularization Method for Supervised and
Semi-Supervised Learning", IEEE TPAMI 2018. https://arxiv.org/abs/1704.03976
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semisup.algorithms.base import Algorithm, StepContext, forward_cat
from semisup.data.batch import pseudo_label_accuracy
from semisup.losses import entropy_with_logits, kl_div_with_logits, l2_normalize
from semisup.nets.build import Standardize
from semisup.registry import ALGORITHMS


@contextlib.contextmanager
def frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """BatchNorm layers still normalise with batch statistics in train mode but leave their running
    statistics unchanged (momentum 0; ``num_batches_tracked`` restored): the official code's
    ``update_batch_stats=False`` for the passes over perturbed inputs."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [
        (m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone()) for m in bns
    ]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(bns, saved, strict=True):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


@ALGORITHMS.register("vat")
class VAT(Algorithm):
    """loss = CE(x_lb) + ``lambda_u`` · mean_b KL(p(u_b) ‖ p(u_b + r_adv,b)) [+ mean_b H(p(u_b))].

    r_adv = ε · g/‖g‖ per example, g = ∇_d KL(p(u) ‖ p(u + ξd)) from a random unit d, repeated
    ``n_power`` times (power iteration towards the top eigenvector of the KL's Hessian); p(u) is a fixed
    target (detached). Config (paper defaults): ``n_power``=1, ``lambda_u`` α=1; ``entmin`` adds the
    conditional entropy of p(u) with weight 1 (the paper's VAT+EntMin); ``eps`` and ``xi`` below.

    Units of ε. Perturbations are measured in the units of the model's own input standardisation
    (the ``Standardize`` layer the engine puts first; raw units if there is none), as the paper measures
    them on preprocessed inputs: r is drawn there and multiplied by the per-feature std before it is
    added to the raw input, so a feature stored in thousands and one stored in [0, 1] are perturbed
    alike. Since ‖r‖ grows with the input size D, ``eps`` and ``xi`` are root-mean-squares per input
    element: ‖r_adv‖₂ = ``eps``·√D and ‖ξd‖₂ = ``xi``·√D standardised units. The paper's ε=8.0 on
    ZCA-whitened CIFAR-10 (D=3072) is 0.14 per element, its ε=2.0 on MNIST pixels in [0, 1] (std 0.31,
    D=784) 0.23; the default 0.2 gives ‖r‖ = 5.6 std on MNIST, 1.6 on 8x8 digits, 0.28 on 2-d moons.
    The paper's ξ=1e-6 (a total norm) is below float32 resolution once spread over the input: the
    finite difference rounds to zero and d comes back zero or noise (on a small MLP, cosine 0.01 with
    the top eigenvector, against 0.65 for ξ between 1e-4 and 1e-1 per element). ``xi``=1e-2 per element
    keeps the direction under bf16/TF32 matmuls too while staying 20x inside ``eps``.

    BatchNorm: the clean target pass and the perturbed passes run on the unlabeled batch alone, with
    running statistics frozen (``frozen_bn_stats``), as in the official code; the first pass over the
    labeled and unlabeled batch together updates them as usual.
    """

    paper = "Miyato et al. 2018, https://arxiv.org/abs/1704.03976"
    unlabeled_views = ("weak",)

    @dataclass
    class Config:
        eps: float = 0.2
        xi: float = 1e-2
        n_power: int = 1
        lambda_u: float = 1.0
        entmin: bool = False

    def __init__(self, cfg, num_classes: int, n_unlabeled: int = 0) -> None:
        super().__init__(cfg, num_classes, n_unlabeled)
        if cfg.eps <= 0 or cfg.xi <= 0:
            raise ValueError(f"eps and xi must be > 0, got eps={cfg.eps}, xi={cfg.xi}")
        if cfg.n_power < 1:
            raise ValueError(f"n_power must be >= 1, got {cfg.n_power}")
        self._standardize: tuple[Standardize, ...] = ()  # a tuple: a reference, not a submodule
        self._raw: tuple[nn.Module, ...] = ()

    def attach(self, model: nn.Module) -> None:
        self._standardize = tuple(m for m in model.modules() if isinstance(m, Standardize))[:1]
        # The power iteration differentiates w.r.t. the input only. It runs on the bare module: Fabric's
        # wrapper (mixed precision, DDP) allows gradients only through ``fabric.backward``.
        self._raw = (model,)

    def input_scale(self, x: Tensor) -> Tensor | float:
        """Per-feature std of the model's input standardisation, broadcastable to ``x``; 1 without one."""
        return self._standardize[0].std.to(x.dtype) if self._standardize else 1.0

    def adversarial_perturbation(self, model, x: Tensor, target_logits: Tensor) -> Tensor:
        """r_adv (same shape as ``x``, raw input units) with ‖r_adv / scale‖₂ = eps·√D per example."""
        scale, target_logits = self.input_scale(x), target_logits.detach()
        sqrt_d = math.sqrt(x[0].numel())
        d = l2_normalize(torch.randn_like(x))
        net = self._raw[0] if self._raw else model
        for _ in range(self.cfg.n_power):
            d = d.detach().requires_grad_(True)
            logits = net(x + self.cfg.xi * sqrt_d * scale * d).float()
            (grad,) = torch.autograd.grad(kl_div_with_logits(target_logits, logits).sum(), d)
            d = l2_normalize(grad)
        return (self.cfg.eps * sqrt_d * scale * d).detach()

    def training_step(self, model, batch, ctx: StepContext):
        (u,) = batch.u_views
        logits_x, logits_u = forward_cat(model, batch.x_lb, u)
        sup_loss = F.cross_entropy(logits_x, batch.y_lb)

        with frozen_bn_stats(model):
            # The target p(u) from a pass over the same batch as the perturbed passes: KL is 0 at r = 0.
            with torch.no_grad():
                target_logits = model(u).float()
            r_adv = self.adversarial_perturbation(model, u, target_logits)
            logits_adv = model(u + r_adv).float()
        unsup_loss = kl_div_with_logits(target_logits, logits_adv).mean()

        loss = sup_loss + self.cfg.lambda_u * unsup_loss
        logs = {
            "train/sup_loss": sup_loss.detach(),
            "train/unsup_loss": unsup_loss.detach(),
            "train/unsup_weight": self.cfg.lambda_u,
        }
        if self.cfg.entmin:
            entropy = entropy_with_logits(logits_u.float()).mean()
            loss = loss + entropy
            logs["train/entropy"] = entropy.detach()
        acc = pseudo_label_accuracy(logits_u.detach().argmax(-1), batch.u_true)
        if acc is not None:
            logs["train/pseudo_acc"] = acc
        return loss, logs
