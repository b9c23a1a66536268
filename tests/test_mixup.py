import pytest
import torch

from semisup.losses import mixup


def _col(lam, t):
    return lam.view(-1, *([1] * (t.dim() - 1)))


@pytest.mark.parametrize("per_example", [False, True])
@pytest.mark.parametrize("max_lam", [False, True])
def test_mixup_is_the_convex_combination(per_example, max_lam):
    torch.manual_seed(0)
    x = torch.randn(16, 3, 4, 4)
    y = torch.softmax(torch.randn(16, 5), -1)
    xm, ym, lam, perm = mixup(x, y, 0.75, max_lam=max_lam, per_example=per_example)
    assert lam.shape == (16,) and sorted(perm.tolist()) == list(range(16))
    assert torch.equal(xm, _col(lam, x) * x + (1 - _col(lam, x)) * x[perm])
    assert torch.equal(ym, _col(lam, y) * y + (1 - _col(lam, y)) * y[perm])
    assert ((lam >= (0.5 if max_lam else 0.0)) & (lam <= 1)).all()
    assert (lam == lam[0]).all() != per_example  # one lambda for the batch, or one per row
    # mixed labels stay distributions
    assert (ym >= 0).all() and torch.allclose(ym.sum(-1), torch.ones(16))


def test_mixup_hand_value_two_rows():
    x, y = torch.tensor([[0.0], [10.0]]), torch.eye(2)
    torch.manual_seed(1)
    xm, ym, lam, perm = mixup(x, y, 1.0, max_lam=True, per_example=True)
    for i in range(2):
        j, lam_i = int(perm[i]), float(lam[i])
        assert xm[i, 0].item() == pytest.approx(lam_i * x[i, 0].item() + (1 - lam_i) * x[j, 0].item())
        expected = torch.zeros(2)
        expected[i] += lam_i
        expected[j] += 1 - lam_i
        assert torch.allclose(ym[i], expected)


def test_mixup_lambda_distribution():
    # Beta(1, 1) is uniform: E[lam] = 1/2 and E[max(lam, 1 - lam)] = 3/4
    torch.manual_seed(0)
    x, y = torch.zeros(40_000, 1), torch.zeros(40_000, 2)
    assert abs(mixup(x, y, 1.0, per_example=True)[2].mean().item() - 0.5) < 0.01
    assert abs(mixup(x, y, 1.0, per_example=True, max_lam=True)[2].mean().item() - 0.75) < 0.01


def test_mixup_seeded_reproducible_alpha_zero_identity_and_errors():
    x, y = torch.randn(8, 3), torch.eye(8)
    torch.manual_seed(5)
    a = mixup(x, y, 0.75, per_example=True)
    torch.manual_seed(5)
    b = mixup(x, y, 0.75, per_example=True)
    assert all(torch.equal(s, t) for s, t in zip(a, b, strict=True))
    xm, ym, lam, perm = mixup(x, y, 0.0)
    assert xm is x and ym is y and (lam == 1).all() and perm.tolist() == list(range(8))
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        mixup(x, y, -1.0)
    with pytest.raises(ValueError, match="same length"):
        mixup(x, y[:4], 0.5)
