"""Distillation loss against a hand computation, and its scaling with the temperature."""

from __future__ import annotations

import math

import pytest
import torch

from semisup.losses import distillation_loss, teacher_probs


def test_matches_hand_computation():
    s = torch.tensor([[1.0, 0.0]])
    t = torch.tensor([[0.0, 2.0]])
    T = 2.0
    # softmax(s/T) = softmax([0.5, 0]); softmax(t/T) = softmax([0, 1])
    ps = [math.exp(0.5) / (math.exp(0.5) + 1), 1 / (math.exp(0.5) + 1)]
    pt = [1 / (1 + math.e), math.e / (1 + math.e)]
    kl = sum(p * math.log(p / q) for p, q in zip(pt, ps, strict=True))
    assert float(distillation_loss(s, t, T)[0]) == pytest.approx(T * T * kl, rel=1e-6)


def test_zero_when_student_matches_and_differs_from_ce_by_teacher_entropy():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(5, 4, generator=g)
    assert torch.allclose(distillation_loss(t.clone(), t, 3.0), torch.zeros(5), atol=1e-6)
    s = torch.randn(5, 4, generator=g)
    p = teacher_probs(t, 1.0)
    ce = -(p * torch.log_softmax(s, -1)).sum(-1)
    entropy = -(p * p.log()).sum(-1)
    assert torch.allclose(distillation_loss(s, t, 1.0), ce - entropy, atol=1e-5)


def test_teacher_gets_no_gradient_and_T_squared_keeps_gradient_scale():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(64, 10, generator=g, requires_grad=True)
    t = torch.randn(64, 10, generator=g, requires_grad=True)
    distillation_loss(s, t, 1.0).mean().backward()
    assert t.grad is None
    # for large T the gradient tends to (s - t)/(C·N) independent of T (Hinton et al., §2.1)
    norms = []
    for T in (10.0, 40.0):
        s.grad = None
        distillation_loss(s, t - t.mean(1, keepdim=True), T).mean().backward()
        norms.append(float(s.grad.norm()))
    assert norms[0] == pytest.approx(norms[1], rel=0.05)


def test_validates():
    with pytest.raises(ValueError, match="T must be > 0"):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 2), 0.0)
    with pytest.raises(ValueError, match="differ in shape"):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 3))
