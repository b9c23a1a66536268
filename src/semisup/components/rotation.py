"""Rotation as a self-supervised task (Gidaris et al. 2018, https://arxiv.org/abs/1803.07728), batched.

ReMixMatch rotates one strong view of each unlabeled image by a random quarter turn; CRMatch shows every
image at all four. Labels are the number of counter-clockwise quarter turns, 0..3. A quarter turn of a
non-square image changes its shape, so such images use only 0 and 2 (180°): their labels are 0 or 2.
"""

from __future__ import annotations

import torch
from torch import Tensor


def quarter_turns(x: Tensor) -> tuple[int, ...]:
    """The rotations usable on a batch (N, C, H, W): (0, 1, 2, 3), or (0, 2) when H != W.

    Raises:
        ValueError: ``x`` is not a 4-D image batch.
    """
    if x.ndim != 4:
        raise ValueError(f"rotation needs (N, C, H, W) images, got shape {tuple(x.shape)}")
    return (0, 1, 2, 3) if x.shape[2] == x.shape[3] else (0, 2)


def rotate(x: Tensor, k: Tensor) -> Tensor:
    """Image b of ``x`` (N, C, H, W) turned counter-clockwise by ``k[b]`` quarter turns; ``k`` (N,) in
    ``quarter_turns(x)``. One ``rot90`` per rotation and one gather: no host sync.

    Example:
        >>> x = torch.arange(4.0).view(1, 1, 2, 2)  # [[0, 1], [2, 3]]
        >>> rotate(x, torch.tensor([1]))[0, 0]
        tensor([[1., 3.],
                [0., 2.]])
    """
    turns = quarter_turns(x)
    if len(turns) == 4:
        stack = torch.stack([torch.rot90(x, r, dims=(2, 3)) for r in turns])
        return stack[k, torch.arange(x.shape[0], device=x.device)]
    return torch.where((k == 2).view(-1, 1, 1, 1), torch.rot90(x, 2, dims=(2, 3)), x)


def random_rotation(x: Tensor) -> tuple[Tensor, Tensor]:
    """Each image turned by a rotation drawn uniformly from ``quarter_turns(x)`` (torch's global RNG).

    Returns:
        rotated (N, C, H, W), k (N,) long labels.
    """
    turns = torch.tensor(quarter_turns(x), device=x.device)
    k = turns[torch.randint(len(turns), (x.shape[0],), device=x.device)]
    return rotate(x, k), k


def all_rotations(x: Tensor) -> tuple[Tensor, Tensor]:
    """Every image at every rotation of ``quarter_turns(x)``, rotation-major.

    Returns:
        rotated (R·N, C, H, W), k (R·N,) long labels: the N images at rotation 0, then at the next, ...
    """
    turns = quarter_turns(x)
    n = x.shape[0]
    rotated = torch.cat([torch.rot90(x, r, dims=(2, 3)) for r in turns])
    k = torch.tensor(turns, device=x.device).repeat_interleave(n)
    return rotated, k
