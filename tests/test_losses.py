import math

import torch

from semisup.losses import (
    confidence_mask,
    linear_ramp,
    masked_mean,
    mse_probs,
    sigmoid_rampup,
    soft_cross_entropy,
)


def test_soft_cross_entropy_hand_value():
    logits = torch.tensor([[0.0, math.log(3.0)]])  # softmax = [1/4, 3/4]
    assert torch.allclose(soft_cross_entropy(logits, torch.tensor([1])), torch.tensor([-math.log(0.75)]))
    soft = torch.tensor([[0.5, 0.5]])
    expected = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    assert torch.allclose(soft_cross_entropy(logits, soft), torch.tensor([expected]))
    # one-hot soft targets equal hard targets
    logits = torch.randn(7, 4)
    y = torch.randint(0, 4, (7,))
    assert torch.allclose(
        soft_cross_entropy(logits, torch.eye(4)[y]), soft_cross_entropy(logits, y), atol=1e-6
    )


def test_confidence_mask_and_masked_mean():
    probs = torch.tensor([[0.96, 0.04], [0.6, 0.4], [0.05, 0.95]])
    pseudo, mask = confidence_mask(probs, 0.95)
    assert pseudo.tolist() == [0, 0, 1] and mask.tolist() == [1.0, 0.0, 1.0]
    # FixMatch divides by the whole batch, not by the number of confident examples
    assert masked_mean(torch.tensor([3.0, 100.0, 6.0]), mask).item() == 3.0


def test_mse_probs_hand_value_and_gradient_side():
    a = torch.tensor([[0.0, 0.0]], requires_grad=True)  # p = [.5, .5]
    b = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)  # q = [.25, .75]
    v = mse_probs(a, b)
    assert torch.allclose(v, torch.tensor([0.0625]))
    v.sum().backward()
    assert a.grad is not None and b.grad is None
    mse_probs(a, b, detach_target=False).sum().backward()
    assert b.grad is not None


def test_ramps():
    assert sigmoid_rampup(0.0, 0.5) == math.exp(-5)
    assert sigmoid_rampup(0.5, 0.5) == 1.0 and sigmoid_rampup(0.9, 0.5) == 1.0
    assert math.isclose(sigmoid_rampup(0.25, 0.5), math.exp(-5 * 0.25))
    assert (
        linear_ramp(0.05, 0.1, 0.6) == 0.0
        and math.isclose(linear_ramp(0.35, 0.1, 0.6), 0.5)
        and linear_ramp(0.7, 0.1, 0.6) == 1.0
    )


def test_pseudo_label_target_hard_or_tempered():
    from semisup.losses import pseudo_label_target

    logits = torch.tensor([[0.0, math.log(3.0)]])
    pseudo = torch.tensor([1])
    assert pseudo_label_target(logits, pseudo, True, 0.5) is pseudo
    # T = 0.5 squares the odds: 3 -> 9, so p = [0.1, 0.9]
    assert torch.allclose(pseudo_label_target(logits, pseudo, False, 0.5), torch.tensor([[0.1, 0.9]]))
