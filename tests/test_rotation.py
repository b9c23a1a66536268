"""Batched rotation for the rotation task: exact pixels, labels, and non-square images."""

import pytest
import torch

from semisup.components.rotation import all_rotations, quarter_turns, random_rotation, rotate


def test_rotate_turns_each_image_by_its_own_quarter_turns():
    x = torch.arange(2 * 9, dtype=torch.float32).view(2, 1, 3, 3)
    out = rotate(x, torch.tensor([1, 3]))
    assert torch.equal(out[0], torch.rot90(x[0], 1, (1, 2)))
    assert torch.equal(out[1], torch.rot90(x[1], -1, (1, 2)))
    # one quarter turn counter-clockwise moves the top-right corner to the top-left
    assert out[0, 0, 0, 0] == x[0, 0, 0, 2]


def test_all_rotations_are_rotation_major_with_their_labels():
    x = torch.rand(3, 2, 4, 4)
    rotated, k = all_rotations(x)
    assert k.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    for r in range(4):
        assert torch.equal(rotated[3 * r : 3 * r + 3], torch.rot90(x, r, (2, 3)))


def test_random_rotation_draws_every_turn_and_labels_it():
    torch.manual_seed(0)
    x = torch.rand(400, 1, 5, 5)
    rotated, k = random_rotation(x)
    counts = torch.bincount(k, minlength=4)
    assert counts.min() > 70  # uniform over 4: 100 each
    assert torch.equal(rotated, rotate(x, k))


def test_non_square_images_use_half_turns_only():
    x = torch.rand(50, 1, 4, 6)
    assert quarter_turns(x) == (0, 2)
    torch.manual_seed(0)
    rotated, k = random_rotation(x)
    assert set(k.tolist()) == {0, 2} and rotated.shape == x.shape
    assert torch.equal(rotated[k == 2], x[k == 2].flip(2, 3))
    rotated, k = all_rotations(x)
    assert rotated.shape == (100, 1, 4, 6) and k.tolist() == [0] * 50 + [2] * 50


def test_rotation_rejects_non_images():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) images"):
        quarter_turns(torch.rand(4, 6))
