"""CoMatch's loss against a per-example transcription of the paper's equations, and its memories."""

import math

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.comatch import CoMatch
from semisup.data.batch import Batch
from semisup.nets.build import build_net, with_standardize

C, D, B, MU, K = 3, 6, 4, 2, 10
CTX = StepContext(step=5, total_steps=10)


def setup(threshold=0.0, contrast_threshold=0.8, fill=True, seed=0, size=K):
    torch.manual_seed(seed)
    model = with_standardize(build_net("mlp", (D,), C), torch.randn(30, D), "vector").eval()
    cfg = CoMatch.Config(threshold=threshold, contrast_threshold=contrast_threshold, queue_size=size)
    algo = CoMatch(cfg, C, n_unlabeled=100)
    algo.attach(model)
    if fill:  # a full memory, so smoothing acts; two earlier batch means for alignment
        algo.memory.push(z=F.normalize(torch.randn(K, 64), dim=1), p=torch.softmax(torch.randn(K, C), 1))
        algo.da.push(p=torch.softmax(torch.randn(2, C), 1))
    u = torch.randn(B * MU, D)
    views = (u + 0.1 * torch.randn_like(u), -u, u.flip(1))
    batch = Batch(
        torch.randn(B, D), torch.arange(B) % C, views, torch.arange(B * MU), torch.arange(B * MU) % C
    )
    return algo, model, batch


def reference(algo, model, batch):
    """The paper's equations one example at a time (loops, no shared helpers)."""
    cfg, net, head = algo.cfg, model[1], algo.heads["projection"]
    u_w, u_s0, u_s1 = batch.u_views
    with torch.no_grad():
        emb = lambda x: head(net.features(model[0](x)))  # noqa: E731
        z_w, z_s0, z_s1 = emb(u_w), emb(u_s0), emb(u_s1)
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
        p = torch.softmax(model(u_w), 1)
        rows = [algo.da.p[i] for i in range(int(algo.da.count))] + [p.mean(0)]
        p = p / torch.stack(rows).mean(0)
        p = p / p.sum(1, keepdim=True)
        m = len(p)
        q = torch.zeros_like(p)
        for b in range(m):
            a = torch.tensor([math.exp(float(z_w[b] @ algo.memory.z[k]) / cfg.T) for k in range(K)])
            q[b] = cfg.alpha * p[b] + (1 - cfg.alpha) * sum(
                a[k] / a.sum() * algo.memory.p[k] for k in range(K)
            )
        log_s0 = F.log_softmax(model(u_s0), 1)
        unsup = sum(-(q[b] * log_s0[b]).sum() for b in range(m) if q[b].max() >= cfg.threshold) / m
        contrast = 0.0
        for b in range(m):
            w = torch.tensor([1.0 if j == b else float(q[b] @ q[j]) for j in range(m)])
            w = w * (w >= cfg.contrast_threshold)
            e = torch.stack([torch.exp(z_s0[b] @ z_s1[j] / cfg.T) for j in range(m)])
            contrast -= (w / w.sum() * torch.log(e / e.sum())).sum() / m
    return sup, unsup, contrast, q, p, z_w


def test_comatch_paper_defaults_and_validation():
    cfg = CoMatch.Config()
    assert (cfg.threshold, cfg.contrast_threshold, cfg.T, cfg.alpha) == (0.95, 0.8, 0.2, 0.9)
    assert (cfg.proj_dim, cfg.queue_size, cfg.da_len, cfg.lambda_c) == (64, 2560, 32, 1.0)
    assert CoMatch.unlabeled_views == ("weak", "strong", "strong") and "2011.11183" in CoMatch.paper
    assert CoMatch(cfg, C, n_unlabeled=1217).memory.size == 1217  # capped at the pool (digits)
    assert CoMatch(cfg, C, n_unlabeled=50_000).memory.size == 2560
    with pytest.raises(ValueError, match="T > 0"):
        CoMatch(CoMatch.Config(T=0.0), C)
    with pytest.raises(ValueError, match="queue_size"):
        CoMatch(CoMatch.Config(queue_size=0), C)


def test_comatch_one_step_matches_the_paper_by_hand():
    algo, model, batch = setup()
    _, _, _, q, _, _ = reference(algo, model, batch)
    conf = q.max(1).values
    gram = (q @ q.T)[~torch.eye(len(q), dtype=torch.bool)]
    # thresholds inside the data: some examples pass the mask and some graph edges survive, not all
    algo, model, batch = setup(threshold=float(conf.median()), contrast_threshold=float(gram.median()))
    sup, unsup, contrast, q, p, z_w = reference(algo, model, batch)
    loss, logs = algo.training_step(model, batch, CTX)
    assert torch.allclose(loss, sup + unsup + contrast, atol=1e-5)
    assert torch.allclose(logs["train/unsup_loss"], unsup, atol=1e-6) and float(unsup) > 0
    assert torch.allclose(logs["train/contrast_loss"], contrast, atol=1e-5)
    assert 0 < float(logs["train/mask_ratio"]) < 1
    # This batch went into the memory: weak-view embeddings with aligned (unsmoothed) probabilities,
    # then the labeled embeddings with one-hot labels; the pointer moved past them.
    n = B * MU
    assert int(algo.memory.ptr) == (n + B) % K and bool(algo.memory.full)
    pushed_p = torch.cat([p, F.one_hot(batch.y_lb, C).float()])  # 12 rows into 10 slots from slot 0:
    assert torch.allclose(algo.memory.p, torch.cat([pushed_p[K:], pushed_p[2:K]]), atol=1e-6)
    assert torch.allclose(algo.memory.z[2:n], z_w[2:], atol=1e-6)


def test_comatch_smooths_only_once_the_memory_is_full():
    algo, model, batch = setup(fill=False, size=20)
    _, logs = algo.training_step(model, batch, CTX)
    assert not bool(algo.memory.full) and int(algo.memory.count) == B * MU + B
    # q = p: an empty memory never blends zeros into the pseudo-labels (the test's threshold 0 keeps all)
    with torch.no_grad():
        p = torch.softmax(model(batch.u_views[0]), 1)
        p = p / p.mean(0)
        p = p / p.sum(1, keepdim=True)
        expected = (-(p * F.log_softmax(model(batch.u_views[1]), 1)).sum(1)).mean()
    assert torch.allclose(logs["train/unsup_loss"], expected, atol=1e-6)


def test_comatch_checkpoint_carries_the_projection_head():
    algo, model, batch = setup()
    state = algo.state_dict()
    head_keys = set(state["_extra_state"]["heads"])
    assert {"projection.0.weight", "projection.2.weight"} <= head_keys
    assert not any("aux_heads" in k for k in model.state_dict())
    algo2, model2, _ = setup(seed=5)
    algo2.load_state_dict(state)
    assert torch.equal(algo2.heads["projection"][0].weight, algo.heads["projection"][0].weight)
