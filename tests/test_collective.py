"""The collectives on one process, and NT-Xent with gathered negatives against the loss of the whole batch."""

from __future__ import annotations

import pytest
import torch

from semisup.collective import Collective
from semisup.losses import contrastive_accuracy, nt_xent


def test_one_process_collectives_are_the_identity():
    dist, t = Collective(), torch.randn(3, 2, requires_grad=True)
    assert dist.world_size == 1 and dist.rank == 0
    assert torch.equal(dist.all_gather(t), t) and not dist.all_gather(t).requires_grad
    assert dist.all_gather(t, grad=True) is t  # the gradient flows as without any gather
    assert torch.equal(dist.all_reduce(t, "mean"), t) and torch.equal(dist.all_reduce(t), t)
    with pytest.raises(ValueError, match="op must be one of sum, mean"):
        dist.all_reduce(t, "max")


class SimulatedRank(Collective):
    """Rank ``rank`` of a world whose ranks' tensors are known in advance (``others``, in call order):
    ``all_gather`` puts this rank's tensor in its slot. The other slots are live slices of the same
    leaves, so the gradient of one rank's loss reaches every rank's embeddings, as the all_reduce of
    the real backward sends it."""

    def __init__(self, rank: int, world_size: int, others: list[torch.Tensor]) -> None:
        self.rank, self.world_size, self.others, self.calls = rank, world_size, others, 0

    def all_gather(self, t: torch.Tensor, grad: bool = False) -> torch.Tensor:
        every = self.others[self.calls]  # (W·N, D), in rank order
        self.calls += 1
        n = t.shape[0]
        out = torch.cat([every[: self.rank * n], t, every[(self.rank + 1) * n :]])
        return out if grad else out.detach()


def test_nt_xent_with_gathered_negatives_is_the_whole_batch_loss():
    """W ranks, each with N examples: the mean of the ranks' losses (local anchors, every rank's
    embeddings as negatives) equals NT-Xent over the concatenated W·N examples, and so does the
    gradient DDP averages."""
    W, N, D, t = 3, 4, 5, 0.3
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(W * N, D, generator=g, requires_grad=True)
    z2 = torch.randn(W * N, D, generator=g, requires_grad=True)
    whole = nt_xent(z1, z2, t)
    grad_whole = torch.autograd.grad(whole, [z1, z2])
    losses = []
    for r in range(W):
        # nt_xent gathers its normalised views: the others' slots hold the same normalised rows
        others = [torch.nn.functional.normalize(z.float(), dim=1) for z in (z1, z2)]
        dist = SimulatedRank(r, W, others)
        losses.append(nt_xent(z1[r * N : (r + 1) * N], z2[r * N : (r + 1) * N], t, dist))
    per_rank_mean = torch.stack(losses).mean()
    assert per_rank_mean.item() == pytest.approx(whole.item(), rel=1e-6)
    for a, b in zip(torch.autograd.grad(per_rank_mean, [z1, z2]), grad_whole, strict=True):
        torch.testing.assert_close(a, b)
    # one rank alone (its local negatives only) is a different, smaller problem
    assert nt_xent(z1[:N], z2[:N], t).item() != pytest.approx(losses[0].item(), rel=1e-3)


def test_contrastive_accuracy_pools_over_ranks():
    W, N, D = 2, 4, 3
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(W * N, D, generator=g), torch.randn(W * N, D, generator=g)
    others = [torch.nn.functional.normalize(z, dim=1) for z in (z1, z2)]
    per_rank = [
        contrastive_accuracy(z1[r * N : (r + 1) * N], z2[r * N : (r + 1) * N], SimulatedRank(r, W, others))
        for r in range(W)
    ]
    assert torch.stack(per_rank).mean().item() == pytest.approx(contrastive_accuracy(z1, z2).item())
