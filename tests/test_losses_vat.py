import math

import torch

from semisup.losses import entropy_with_logits, kl_div_with_logits, l2_normalize


def test_l2_normalize_per_example_over_all_non_batch_dims():
    assert torch.allclose(l2_normalize(torch.tensor([[3.0, 4.0]])), torch.tensor([[0.6, 0.8]]))
    d = torch.zeros(2, 1, 2, 2)
    d[0, 0, 0, 0], d[0, 0, 1, 1] = 3.0, -4.0
    out = l2_normalize(d)
    assert out[0, 0, 0, 0] == 0.6 and out[0, 0, 1, 1] == -0.8
    assert torch.equal(out[1], torch.zeros(1, 2, 2))  # an all-zero example stays zero, no NaN
    x = torch.randn(5, 3, 4, 4)
    assert torch.allclose(l2_normalize(x).flatten(1).norm(dim=1), torch.ones(5))


def test_kl_div_with_logits_hand_value():
    q = torch.tensor([[0.0, 0.0]])  # [1/2, 1/2]
    p = torch.tensor([[0.0, math.log(3.0)]])  # [1/4, 3/4]
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert torch.allclose(kl_div_with_logits(q, p), torch.tensor([expected]))
    assert torch.allclose(kl_div_with_logits(p, p), torch.zeros(1), atol=1e-7)
    # matches torch's KL with q as target; non-negative; shift-invariant in the logits
    a, b = torch.randn(6, 4), torch.randn(6, 4)
    ref = torch.nn.functional.kl_div(b.log_softmax(-1), a.log_softmax(-1), log_target=True, reduction="none")
    assert torch.allclose(kl_div_with_logits(a, b), ref.sum(-1), atol=1e-6)
    assert (kl_div_with_logits(a, b) >= 0).all()
    assert torch.allclose(kl_div_with_logits(a + 3.0, b - 1.0), kl_div_with_logits(a, b), atol=1e-6)


def test_entropy_with_logits_hand_value():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, math.log(3.0), -1e4, -1e4]])
    expected = [math.log(4.0), -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))]
    assert torch.allclose(entropy_with_logits(logits), torch.tensor(expected), atol=1e-6)
