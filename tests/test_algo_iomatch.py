"""IOMatch's open-set targets against a naive loop and its whole step against a transcription."""

import math

import pytest
import torch

from semisup.algorithms.base import StepContext
from semisup.algorithms.iomatch import IOMatch
from semisup.data.batch import Batch
from semisup.losses.open_set import open_set_targets
from semisup.nets.build import build_net
from semisup.nets.open_set_head import OpenSetHead

K, D, B, MU = 3, 6, 6, 2


def naive_targets(p: list[list[float]], mb: list[list[float]]) -> list[list[float]]:
    """q_k = p_k · σ(in_k − out_k), q_{K+1} = Σ_k p_k (1 − σ(in_k − out_k)), one number at a time."""
    out = []
    for pi, li in zip(p, mb, strict=True):
        k = len(pi)
        o_in = [1 / (1 + math.exp(-(li[k + j] - li[j]))) for j in range(k)]
        out.append([pi[j] * o_in[j] for j in range(k)] + [sum(pi[j] * (1 - o_in[j]) for j in range(k))])
    return out


def test_open_set_targets_match_naive_reference():
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(5, K, generator=g), 1)
    mb = 2 * torch.randn(5, 2 * K, generator=g)
    q = open_set_targets(p, mb)
    assert q.shape == (5, K + 1)
    assert torch.allclose(q, torch.tensor(naive_targets(p.tolist(), mb.tolist())), atol=1e-6)
    assert torch.allclose(q.sum(1), torch.ones(5))  # a distribution over K + 1 classes
    # a certain inlier of class 0 keeps its closed-set target; a certain outlier moves it to class K+1
    certain = torch.tensor([[-20.0, 0, 0, 20, 0, 0], [20.0, 20, 20, -20, -20, -20]])
    q = open_set_targets(torch.tensor([[1.0, 0, 0], [0.2, 0.5, 0.3]]), certain)
    assert torch.allclose(q, torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]]), atol=1e-6)


def model_and_batch(seed: int = 0):
    torch.manual_seed(seed)
    net = build_net("mlp", (D,), K).eval()
    u = torch.randn(B * MU, D)
    views = (u + 0.1 * torch.randn_like(u), -u)
    batch = Batch(
        torch.randn(B, D), torch.arange(B) % K, views, torch.arange(B * MU), torch.arange(B * MU) % K
    )
    return net, batch


@pytest.mark.parametrize("dist_align", [False, True])
def test_iomatch_step_matches_transcription(dist_align):
    net, batch = model_and_batch()
    cfg = IOMatch.Config(p_threshold=0.4, q_threshold=0.55, lambda_op=0.7, dist_align=dist_align, da_length=4)
    algo = IOMatch(cfg, K)
    algo.attach(net)
    head = net.classifier
    assert isinstance(head, OpenSetHead) and head.kind == "iomatch"
    with torch.no_grad():  # spread the untrained detector's outputs so the outlier filter has work
        head.mb.weight.mul_(10)
        head.closed.weight.mul_(6)
    loss, logs = algo.training_step(net, batch, StepContext(5, 10))

    with torch.no_grad():
        f = net.features
        z = lambda x: head.proj(f(x))  # noqa: E731
        u_w, u_s = batch.u_views
        ls = torch.log_softmax(head.closed(f(batch.x_lb)), 1)
        sup = -ls[torch.arange(B), batch.y_lb].mean()
        o = head.mb(z(batch.x_lb)).view(B, 2, K).softmax(1)
        mb_loss = 0.0
        for i, y in enumerate(batch.y_lb.tolist()):
            mb_loss += (
                -math.log(o[i, 1, y] + 1e-8) + max(-math.log(o[i, 0, k] + 1e-8) for k in range(K) if k != y)
            ) / B
        p = head.closed(f(u_w)).softmax(1)
        if dist_align:  # the window: this batch's mean and 3 uniform slots
            p_hat = (p.mean(0) + 3 / K) / 4
            p = p * (1 / K + 1e-6) / (p_hat + 1e-6)
            p = p / p.sum(1, keepdim=True)
        q = torch.tensor(naive_targets(p.tolist(), head.mb(z(u_w)).tolist()))
        lc = torch.log_softmax(head.closed(f(u_s)), 1)
        lo = torch.log_softmax(head.open(z(u_s)), 1)
        n = B * MU
        used_ui = sum(1 for i in range(n) if p[i].max() >= 0.4 and q[i, K] < 0.5)
        used_op = sum(1 for i in range(n) if q[i].max() >= 0.55)
        ui = sum(-(p[i] * lc[i]).sum() for i in range(n) if p[i].max() >= 0.4 and q[i, K] < 0.5) / n
        op = sum(-(q[i] * lo[i]).sum() for i in range(n) if q[i].max() >= 0.55) / n
    assert 0 < used_ui < n and 0 < used_op < n  # both filters select some examples, not all
    assert loss.item() == pytest.approx(float(sup + mb_loss + ui + 0.7 * op), rel=1e-5)
    assert logs["train/ui_loss"].item() == pytest.approx(float(ui), rel=1e-5)
    assert logs["train/op_loss"].item() == pytest.approx(float(op), rel=1e-5)


def test_open_set_loss_waits_and_alignment_window_is_state():
    net, batch = model_and_batch()
    algo = IOMatch(IOMatch.Config(q_threshold=0.0, op_start=0.5), K)
    algo.attach(net)
    _, before = algo.training_step(net, batch, StepContext(4, 10))
    _, after = algo.training_step(net, batch, StepContext(5, 10))
    assert before["train/op_loss"].item() == 0.0 and after["train/op_loss"].item() > 0
    # the alignment window is a buffer: two steps filled two slots, checkpoints carry them
    state = algo.state_dict()
    assert int(state["da.position"]) == 2 and state["da.history"].shape == (128, K)


def test_defaults_and_validation():
    cfg = IOMatch.Config()
    assert (cfg.p_threshold, cfg.q_threshold, cfg.lambda_u, cfg.lambda_mb, cfg.lambda_op) == (
        0.95,
        0.5,
        1,
        1,
        1,
    )
    assert (cfg.dist_align, cfg.da_length, cfg.proj_dim) == (True, 128, 128) and "2308.13168" in IOMatch.paper
    with pytest.raises(ValueError, match="iomatch.q_threshold must be in"):
        IOMatch(IOMatch.Config(q_threshold=-0.1), K)
    with pytest.raises(ValueError, match="must be >= 1"):
        IOMatch(IOMatch.Config(proj_dim=0), K)
