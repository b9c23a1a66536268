"""ABC: the Bernoulli mask probabilities of the paper, the loss by hand, the balanced head predicts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from conftest import MU, B, C, net_and_batch

from semisup.algorithms.abc import ABC, abc_mask_probability
from semisup.algorithms.base import StepContext
from semisup.collective import Collective
from semisup.nets.build import build_net
from semisup.nets.dual_head import add_dual_head, both_heads


def test_mask_probabilities_follow_the_paper():
    ratio = torch.tensor([0.1, 0.2, 1.0])  # N = (100, 50, 10): N_min / N_c
    y = torch.tensor([0, 1, 2, 0])
    assert torch.allclose(abc_mask_probability(ratio, y), torch.tensor([0.1, 0.2, 1.0, 0.1]))
    # unlabeled: 1 − t/T (1 − N_min/N_c): 1 at the start, N_min/N_c at the end
    assert torch.allclose(abc_mask_probability(ratio, y, 0.0), torch.ones(4))
    assert torch.allclose(abc_mask_probability(ratio, y, 0.5), torch.tensor([0.55, 0.6, 1.0, 0.55]))
    assert torch.allclose(abc_mask_probability(ratio, y, 1.0), ratio[y])


def test_counts_give_the_min_ratio():
    algo = ABC(ABC.Config(), C)
    algo.observe_labels(torch.tensor([0] * 100 + [1] * 50 + [2] * 10))
    assert torch.allclose(algo.counts.min_ratio(), torch.tensor([0.1, 0.2, 1.0]))


def test_one_step_matches_hand_computation():
    model, batch = net_and_batch()
    cfg = ABC.Config(threshold=0.3, abc_threshold=0.3)
    algo = ABC(cfg, C)
    algo.attach(model)
    algo.observe_labels(torch.tensor([0] * 4 + [1] * 2 + [2] * 1))  # N_min / N_c = 1/4, 1/2, 1
    ctx = StepContext(step=3, total_steps=6)
    loss, logs = algo.training_step(model, batch, ctx)

    u_w, u_s = batch.u_views
    with torch.no_grad(), both_heads(algo._head[0]):
        fx, gx = model(batch.x_lb).split(C, -1)
        fw, gw = model(u_w).split(C, -1)
        fs, gs = model(u_s).split(C, -1)
    sup = F.cross_entropy(fx, batch.y_lb)
    conf, pl = torch.softmax(fw, -1).max(-1)
    unsup = (F.cross_entropy(fs, pl, reduction="none") * (conf >= 0.3)).sum() / (B * MU)
    g = torch.Generator().manual_seed(algo.mask_seed + 3)  # the step's draws: labeled, then unlabeled
    draw_lb, draw_ulb = torch.rand(B, generator=g), torch.rand(B * MU, generator=g)
    p_lb = torch.tensor([0.25, 0.5, 1.0])[batch.y_lb]
    cls = (F.cross_entropy(gx, batch.y_lb, reduction="none") * (draw_lb < p_lb)).sum() / B
    q_max, q_hat = torch.softmax(gw, -1).max(-1)
    p_ulb = (1 - 0.5 * (1 - torch.tensor([0.25, 0.5, 1.0])))[q_hat]  # t/T = 3/6
    keep = (q_max >= 0.3) & (draw_ulb < p_ulb)
    con = (F.cross_entropy(gs, q_hat, reduction="none") * keep).sum() / (B * MU)
    assert torch.allclose(loss, sup + unsup + cls + con, atol=1e-6)
    assert torch.allclose(logs["train/abc_loss"], cls + con, atol=1e-6)


def test_ranks_draw_slices_of_one_global_draw():
    class Rank(Collective):
        def __init__(self, rank: int) -> None:
            self.world_size, self.rank = 2, rank

    algo = ABC(ABC.Config(), C)
    one = algo._uniform(torch.Generator().manual_seed(7), 10, StepContext(0, 1), torch.device("cpu"))
    assert one.shape == (10,)
    parts = [
        algo._uniform(torch.Generator().manual_seed(7), 5, StepContext(0, 1, Rank(r)), torch.device("cpu"))
        for r in (0, 1)
    ]
    assert torch.equal(torch.cat(parts), one)


def test_balanced_head_predicts_and_state_round_trips():
    torch.manual_seed(0)
    net = build_net("mlp", (4,), C)
    head = add_dual_head(net)
    assert add_dual_head(net) is head  # idempotent
    x = torch.randn(5, 4)
    net.eval()
    with torch.no_grad():
        assert torch.allclose(net(x), head.balanced(net.features(x)))
        with both_heads(head):
            both = net(x)
    assert both.shape == (5, 2 * C) and torch.allclose(both[:, C:], net(x).detach())
    again = build_net("mlp", (4,), C)
    add_dual_head(again)
    again.load_state_dict(net.state_dict())  # a predictor rebuilds the same layout (meta "dual_head")
    assert ABC(ABC.Config(), C).meta() == {"dual_head": True}
