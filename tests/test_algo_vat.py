"""VAT: the power-iteration direction is adversarial, has norm eps, and leaves BN statistics alone."""

from __future__ import annotations

import math

import torch
from torch import nn

from semisup.algorithms.base import StepContext, forward_cat
from semisup.algorithms.vat import VAT, frozen_bn_stats
from semisup.data.batch import Batch
from semisup.losses import kl_div_with_logits, l2_normalize
from semisup.nets.build import build_net, with_standardize

C, D = 3, 6
CTX = StepContext(step=5, total_steps=10)


def make(seed: int = 0, **cfg):
    torch.manual_seed(seed)
    algo = VAT(VAT.Config(**cfg), C)
    X = torch.randn(64, D) * torch.tensor([0.01, 0.1, 1.0, 10.0, 100.0, 1.0])  # features on many scales
    model = with_standardize(build_net("mlp", (D,), C), X, "vector")
    algo.attach(model)
    return algo, model, X


def test_adversarial_direction_beats_random_directions_of_the_same_norm():
    algo, model, X = make()
    model.eval()
    x = X[:32]
    with torch.no_grad():
        target = model(x)
    r_adv = algo.adversarial_perturbation(model, x, target)
    scale = algo.input_scale(x)
    with torch.no_grad():
        kl_adv = kl_div_with_logits(target, model(x + r_adv)).mean()
        for _ in range(10):
            r = algo.cfg.eps * math.sqrt(D) * scale * l2_normalize(torch.randn_like(x))
            assert kl_div_with_logits(target, model(x + r)).mean() < kl_adv


def test_r_adv_has_norm_eps_sqrt_d_in_standardised_units():
    algo, model, X = make(eps=0.3)
    x = X[:8]
    r_adv = algo.adversarial_perturbation(model, x, model(x))
    norms = (r_adv / model[0].std).flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.full((8,), 0.3 * math.sqrt(D)), rtol=1e-5)
    # without a Standardize layer the units are the raw ones
    bare = VAT(VAT.Config(eps=0.3), C)
    bare.attach(model[1])
    r = bare.adversarial_perturbation(model[1], x, model[1](x))
    assert torch.allclose(r.flatten(1).norm(dim=1), torch.full((8,), 0.3 * math.sqrt(D)), rtol=1e-5)


def test_entmin_adds_the_entropy_by_hand():
    model = nn.Linear(D, 2)  # constant prediction softmax = [1/4, 3/4]
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([0.0, math.log(3.0)]))
    b = Batch(torch.randn(4, D), torch.tensor([0, 1, 0, 1]), (torch.randn(8, D),))
    losses = {}
    for entmin in (False, True):
        algo = VAT(VAT.Config(entmin=entmin), 2)
        algo.attach(model)
        losses[entmin], logs = algo.training_step(model, b, CTX)
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert torch.allclose(losses[True] - losses[False], torch.tensor(h))
    assert torch.allclose(logs["train/entropy"], torch.tensor(h))
    assert logs["train/unsup_loss"] == 0  # a constant prediction has no adversarial direction


def test_perturbation_passes_leave_bn_running_stats_alone():
    algo, model, X = make()
    reference = make()[1]
    b = Batch(X[:8], torch.arange(8) % C, (X[8:24],))
    torch.manual_seed(0)
    algo.training_step(model, b, CTX)
    forward_cat(reference, b.x_lb, b.u_views[0])  # the one pass that should update them
    for m, r in zip(model.buffers(), reference.buffers(), strict=True):
        assert torch.equal(m, r)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert bns and all(m.momentum == 0.1 for m in bns)
    with frozen_bn_stats(model):
        assert all(m.momentum == 0.0 for m in bns)
