"""ACR: adjusted logits and the four losses by hand; the adaptive τ from the estimated pool distribution."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from conftest import MU, B, C, net_and_batch

from semisup.algorithms.acr import ACR, debiased_pseudo_labels
from semisup.algorithms.base import StepContext
from semisup.components.distribution_estimate import AdaptiveAdjustment
from semisup.data.batch import Batch
from semisup.losses.logit_adjust import logit_adjustment, symmetric_kl
from semisup.nets.dual_head import both_heads


def test_adjusted_logits_by_hand():
    prior = torch.tensor([0.8, 0.2])
    shift = logit_adjustment(prior, 2.0)
    assert torch.allclose(shift, torch.tensor([2 * math.log(0.8), 2 * math.log(0.2)]))
    z = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    # z − 2 log π = (1.4463, 5.2189) and (3.4463, 3.2189): the tail class gains 2 log 4 = 2.7726
    assert torch.allclose(z - shift, torch.tensor([[1.44629, 5.21888], [3.44629, 3.21888]]), atol=1e-5)
    pseudo, mask = debiased_pseudo_labels(z, shift, 0.9)
    assert pseudo.tolist() == [1, 0]
    # row 0: adjusted max 0.9775 >= 0.9; row 1: adjusted max 0.557, raw max softmax(3, 0) = 0.9526 >= 0.9
    assert mask.tolist() == [1.0, 1.0]
    assert debiased_pseudo_labels(z, shift, 0.96)[1].tolist() == [1.0, 0.0]


def test_adaptive_tau_from_the_estimated_distribution():
    prior = torch.tensor([0.6, 0.3, 0.1])
    est = AdaptiveAdjustment(3, momentum=0.5, tau_min=0.0, tau_max=2.0)
    pred, conf = torch.tensor([2, 2, 1, 0, 2]), torch.tensor([True, True, True, False, True])
    est.update(pred, conf, prior)
    u = 0.5 * np.full(3, 1 / 3) + 0.5 * np.array([0, 1, 3]) / 4  # histogram of confident predictions
    assert np.allclose(est.u_prior.numpy(), u)

    def skl(p, q):
        return 0.5 * (p * np.log(p / q)).sum() + 0.5 * (q * np.log(q / p)).sum()

    p = prior.numpy()
    d = np.array([skl(p, u), skl(np.full(3, 1 / 3), u), skl(p[::-1], u)])
    assert np.isclose(float(symmetric_kl(prior, est.u_prior)), d[0], atol=1e-6)
    est.step_tau()
    assert np.isclose(float(est.tau), 2.0 * np.exp(d[0]) / np.exp(d).sum(), atol=1e-6)
    est.update(pred, torch.zeros(5, dtype=torch.bool), prior)  # nothing confident: no change, no record
    assert np.allclose(est.u_prior.numpy(), u) and float(est.kl_count) == 0
    tau = float(est.tau)
    est.step_tau()
    assert float(est.tau) == tau


def test_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    u_w, u_s = batch.u_views
    batch = Batch(batch.x_lb, batch.y_lb, (u_w, u_s, 0.5 * u_s), batch.u_index, batch.u_true)
    algo = ACR(ACR.Config(threshold=0.4, tau12=1.0), C)
    algo.attach(model)
    algo.observe_labels(torch.tensor([0, 0, 0, 0, 1, 1, 2]))
    loss, logs = algo.training_step(model, batch, StepContext(3, 6))

    pi = torch.tensor([4, 2, 1]) / 7
    with torch.no_grad(), both_heads(algo._head[0]):
        fx, gx = model(batch.x_lb).split(C, -1)
        fw, gw = model(u_w).split(C, -1)
        fs1, gs1 = model(u_s).split(C, -1)
        fs2, gs2 = model(0.5 * u_s).split(C, -1)
    lx = F.cross_entropy(fx, batch.y_lb)
    lxb = F.cross_entropy(gx + 2 * torch.log(pi), batch.y_lb)
    p1 = torch.softmax(fw - 2 * torch.log(pi), -1)  # τ starts at τ_max = tau1 = 2
    m1 = (p1.max(-1).values >= 0.4) | (torch.softmax(fw, -1).max(-1).values >= 0.4)
    t1 = p1.argmax(-1)
    lu = sum((F.cross_entropy(f, t1, reduction="none") * m1).sum() for f in (fs1, fs2)) / (2 * B * MU)
    p2 = torch.softmax(fw - torch.log(pi), -1)  # tau12 = 1
    m2 = (p2.max(-1).values >= 0.4) | (torch.softmax(gw, -1).max(-1).values >= 0.4)
    lub = sum((F.cross_entropy(g, p2.argmax(-1), reduction="none") * m2).sum() for g in (gs1, gs2)) / (
        2 * B * MU
    )
    assert torch.allclose(loss, lx + lu + lxb + lub, atol=1e-5)
    assert torch.allclose(logs["train/sup_loss"], lx + lxb, atol=1e-5)
    # the estimate moved (tau_every of 6 steps rounds up to every step): τ left τ_max
    assert float(algo.adjust.kl_count) == 0 and float(algo.adjust.tau) < 2.0
