"""SimMatch's loss against a per-example transcription of the paper's equations, and its memories."""

import math

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.simmatch import SimMatch
from semisup.data.batch import Batch
from semisup.nets.build import build_net, with_standardize

C, D, B, MU, K = 3, 6, 4, 2, 6
CTX = StepContext(step=5, total_steps=10)


def setup(threshold: float = 0.0, fill: bool = True, seed: int = 0):
    torch.manual_seed(seed)
    model = with_standardize(build_net("mlp", (D,), C), torch.randn(30, D), "vector").eval()
    algo = SimMatch(SimMatch.Config(threshold=threshold, K=K), C, n_unlabeled=100)
    algo.attach(model)
    if fill:  # a full labeled memory; two earlier batch means for alignment
        labels = F.one_hot(torch.arange(K) % C, C).float()
        algo.memory.push(z=F.normalize(torch.randn(K, 128), dim=1), y=labels)
        algo.da.push(p=torch.softmax(torch.randn(2, C), 1))
    u = torch.randn(B * MU, D)
    views = (u + 0.1 * torch.randn_like(u), -u)
    batch = Batch(
        torch.randn(B, D), torch.arange(B) % C, views, torch.arange(B * MU), torch.arange(B * MU) % C
    )
    return algo, model, batch


def reference(algo, model, batch):
    """Eqs. of the paper one example at a time: similarities, unfolding, aggregation, both losses."""
    cfg, net, head = algo.cfg, model[1], algo.heads["projection"]
    u_w, u_s = batch.u_views
    labels = algo.memory.y.argmax(1).tolist()
    with torch.no_grad():
        emb = lambda x: head(net.features(model[0](x)))  # noqa: E731
        z_w, z_s = emb(u_w), emb(u_s)
        sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
        p = torch.softmax(model(u_w), 1)
        rows = [algo.da.p[i] for i in range(int(algo.da.count))] + [p.mean(0)]
        p = p / torch.stack(rows).mean(0)
        p = p / p.sum(1, keepdim=True)
        log_s = F.log_softmax(model(u_s), 1)
        m = len(p)
        unsup, inst, targets = 0.0, 0.0, []
        for b in range(m):
            e = [math.exp(float(z_w[b] @ algo.memory.z[j]) / cfg.T) for j in range(K)]
            q = [v / sum(e) for v in e]
            unf = [q[j] * float(p[b, labels[j]]) for j in range(K)]
            unf = [v / sum(unf) for v in unf]
            agg = [
                cfg.alpha * float(p[b, c]) + (1 - cfg.alpha) * sum(q[j] for j in range(K) if labels[j] == c)
                for c in range(C)
            ]
            targets.append(agg)
            es = [math.exp(float(z_s[b] @ algo.memory.z[j]) / cfg.T) for j in range(K)]
            inst -= sum(unf[j] * math.log(es[j] / sum(es)) for j in range(K)) / m
            if max(agg) >= cfg.threshold:
                unsup -= sum(agg[c] * float(log_s[b, c]) for c in range(C)) / m
    return sup, unsup, inst, torch.tensor(targets)


def test_simmatch_paper_defaults_and_validation():
    cfg = SimMatch.Config()
    assert (cfg.threshold, cfg.T, cfg.alpha, cfg.lambda_u, cfg.lambda_in) == (0.95, 0.1, 0.9, 1.0, 1.0)
    assert (cfg.proj_dim, cfg.K, cfg.da_len) == (128, 256, 256)
    assert SimMatch.unlabeled_views == ("weak", "strong") and "2203.06915" in SimMatch.paper
    with pytest.raises(ValueError, match="alpha in"):
        SimMatch(SimMatch.Config(alpha=1.5), C)
    with pytest.raises(ValueError, match="K and da_len"):
        SimMatch(SimMatch.Config(K=0), C)


def test_simmatch_one_step_matches_the_paper_by_hand():
    algo, model, batch = setup()
    *_, targets = reference(algo, model, batch)
    algo, model, batch = setup(threshold=float(targets.max(1).values.median()))  # some pass, some not
    sup, unsup, inst, _ = reference(algo, model, batch)
    loss, logs = algo.training_step(model, batch, CTX)
    assert torch.allclose(loss, torch.tensor(float(sup) + unsup + inst), atol=1e-5)
    assert logs["train/unsup_loss"].item() == pytest.approx(unsup, abs=1e-6) and unsup > 0
    assert logs["train/in_loss"].item() == pytest.approx(inst, abs=1e-5) and inst > 0
    assert 0 < float(logs["train/mask_ratio"]) < 1
    # the labeled batch entered the memory, oldest rows first (K = 6 slots, 4 labeled rows)
    with torch.no_grad():
        z_x = algo.heads["projection"](model[1].features(model[0](batch.x_lb)))
    assert int(algo.memory.ptr) == B % K
    assert torch.allclose(algo.memory.z[:B], z_x, atol=1e-6)
    assert torch.equal(algo.memory.y[:B], F.one_hot(batch.y_lb, C).float())


def test_simmatch_before_the_memory_is_full_is_fixmatch_with_soft_aligned_targets():
    algo, model, batch = setup(fill=False)
    loss, logs = algo.training_step(model, batch, CTX)
    assert float(logs["train/in_loss"]) == 0.0 and torch.isfinite(loss)
    with torch.no_grad():
        p = torch.softmax(model(batch.u_views[0]), 1)
        p = p / p.mean(0)
        p = p / p.sum(1, keepdim=True)
        expected = (-(p * F.log_softmax(model(batch.u_views[1]), 1)).sum(1)).mean()
    assert torch.allclose(logs["train/unsup_loss"], expected, atol=1e-6)
    assert int(algo.memory.count) == B and not bool(algo.memory.full)
