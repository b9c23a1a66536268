import pytest
import torch

from semisup.losses import sharpen


def test_sharpen_hand_value():
    # [.6, .4] ** 2 = [.36, .16], normalised by .52
    out = sharpen(torch.tensor([[0.6, 0.4]]), 0.5)
    assert torch.allclose(out, torch.tensor([[9 / 13, 4 / 13]]))
    # T = 1/3 cubes: [.2, .3, .5] ** 3 = [.008, .027, .125] / .16
    out = sharpen(torch.tensor([0.2, 0.3, 0.5]), 1 / 3)
    assert torch.allclose(out, torch.tensor([0.05, 0.16875, 0.78125]))


def test_sharpen_limits_and_zeros():
    p = torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    assert torch.allclose(sharpen(p, 1.0), p)
    # T -> 0: one-hot of the argmax, without 0/0
    assert torch.allclose(sharpen(p, 1e-3), torch.eye(3)[p.argmax(-1)])
    assert torch.allclose(sharpen(p, 1e-6), torch.eye(3)[p.argmax(-1)])
    # a zero entry stays zero; rows still sum to one; T > 1 flattens towards uniform
    z = sharpen(torch.tensor([0.0, 0.25, 0.75]), 0.5)
    assert z[0] == 0 and torch.allclose(z.sum(), torch.tensor(1.0))
    assert torch.allclose(sharpen(p, 1e4), torch.full_like(p, 1 / 3), atol=1e-4)


def test_sharpen_rejects_bad_temperature():
    with pytest.raises(ValueError, match="T must be > 0, got 0"):
        sharpen(torch.tensor([0.5, 0.5]), 0)
