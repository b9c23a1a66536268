"""MixMatch against a transcription of the paper's Algorithm 1 and equations 2-5 on a fixed batch."""

import pytest
import torch

import semisup.algorithms.mixmatch as mixmatch_module
from semisup.algorithms.base import StepContext
from semisup.algorithms.mixmatch import MixMatch
from semisup.data.batch import Batch
from semisup.nets.build import build_net

C, D, B, MU = 3, 6, 8, 2


def net_and_batch(seed=0, K=2):
    torch.manual_seed(seed)
    model = build_net("mlp", (D,), C).eval()
    u = torch.randn(B * MU, D)
    views = tuple(u + 0.3 * torch.randn_like(u) for _ in range(K))
    return model, Batch(torch.randn(B, D), torch.arange(B) % C, views, None, torch.arange(B * MU) % C)


def test_mixmatch_paper_defaults_and_validation():
    cfg = MixMatch.Config()
    assert (cfg.K, cfg.T, cfg.alpha, cfg.lambda_u, cfg.rampup) == (2, 0.5, 0.75, 75.0, 16_384 / 1_048_576)
    assert MixMatch(cfg, C).unlabeled_views == ("weak", "weak")
    assert MixMatch(MixMatch.Config(K=3), C).unlabeled_views == ("weak",) * 3
    for bad, msg in [({"K": 0}, "K must be an int"), ({"T": 0.0}, "T must be > 0"), ({"alpha": -1}, "alpha")]:
        with pytest.raises(ValueError, match=msg):
            MixMatch(MixMatch.Config(**bad), C)


def test_guessed_labels_are_sharpened_averages_of_the_k_views():
    # identity "net": the views are log-probabilities; p1 = [.7, .3], p2 = [.5, .5] -> mean [.6, .4]
    v1, v2 = torch.tensor([[0.7, 0.3]]).log(), torch.tensor([[0.5, 0.5]]).log()
    q = MixMatch(MixMatch.Config(), 2).guess_label(torch.nn.Identity(), (v1, v2))
    assert torch.allclose(q, torch.tensor([[9 / 13, 4 / 13]]))  # [.36, .16] / .52 with T = 0.5
    # K = 3 on a real net, against softmax / mean / power / normalise
    model, batch = net_and_batch(K=3)
    q = MixMatch(MixMatch.Config(K=3), C).guess_label(model, batch.u_views)
    with torch.no_grad():
        mean = sum(torch.softmax(model(v), -1) for v in batch.u_views) / 3
    assert torch.allclose(q, mean**2 / (mean**2).sum(-1, keepdim=True), atol=1e-6)
    assert not q.requires_grad


def test_mixmatch_matches_hand_computation_and_mixes_convexly(monkeypatch):
    model, batch = net_and_batch()
    seen = {}

    def recording_mixup(x, y, alpha, **kw):
        out = mixup_impl(x, y, alpha, **kw)
        seen.update(x=x, y=y, kw=kw, alpha=alpha, out=out)
        return out

    mixup_impl = mixmatch_module.mixup
    monkeypatch.setattr(mixmatch_module, "mixup", recording_mixup)
    inputs = []

    def net(x):
        inputs.append(x)
        return model(x)

    algo = MixMatch(MixMatch.Config(), C)
    torch.manual_seed(7)
    loss, logs = algo.training_step(net, batch, StepContext(500, 1000))  # past the ramp-up
    x_mixed_seen, _, lam, perm = seen["out"]
    assert seen["alpha"] == 0.75 and seen["kw"] == {"max_lam": True, "per_example": True}

    u1, u2 = batch.u_views
    with torch.no_grad():
        p = (torch.softmax(model(u1), -1) + torch.softmax(model(u2), -1)) / 2
        q = p**2 / (p**2).sum(-1, keepdim=True)  # sharpen, T = 0.5
        X_hat = torch.cat([batch.x_lb, u1, u2])  # X̂ then Û = the K views, each labeled q
        P = torch.cat([torch.eye(C)[batch.y_lb], q, q])
        # W = Shuffle(Concat(X̂, Û)); row i mixed with W_i, lam' = max(lam, 1 - lam) >= 1/2
        assert sorted(perm.tolist()) == list(range(len(X_hat))) and (lam >= 0.5).all() and (lam <= 1).all()
        assert (lam != lam[0]).any()  # one lambda per pair
        L = lam[:, None]
        X_mixed, P_mixed = L * X_hat + (1 - L) * X_hat[perm], L * P + (1 - L) * P[perm]
        assert torch.equal(inputs[-1], X_mixed) and torch.equal(x_mixed_seen, X_mixed)
        logits = model(X_mixed)
        L_x = -(P_mixed[:B] * torch.log_softmax(logits[:B], -1)).sum(-1).mean()  # eq. 3
        L_u = ((P_mixed[B:] - torch.softmax(logits[B:], -1)) ** 2).sum(-1).mean() / C  # eq. 4
    assert loss.item() == pytest.approx(float(L_x + 75 * L_u), abs=1e-5)
    assert float(logs["train/sup_loss"]) == pytest.approx(float(L_x), abs=1e-6)
    assert float(logs["train/unsup_loss"]) == pytest.approx(float(L_u), abs=1e-7)
    assert logs["train/unsup_weight"] == 75.0
    correct, counted = logs["train/pseudo_acc"]
    assert counted == B * MU and correct == (q.argmax(-1) == batch.u_true).sum()


def test_mixmatch_rampup_and_seeded_mixup():
    model, batch = net_and_batch()
    algo = MixMatch(MixMatch.Config(), C)
    total = 64_000  # ramp-up over the first 1,000 steps
    weights = [
        algo.training_step(model, batch, StepContext(s, total))[1]["train/unsup_weight"] for s in (0, 500)
    ]
    assert weights == [0.0, 37.5]
    losses = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        losses.append(algo.training_step(model, batch, StepContext(2000, total))[0].item())
    assert losses[0] == losses[1] != losses[2]


def test_mixmatch_every_parameter_gets_a_gradient_with_mixup_on():
    model, batch = net_and_batch()
    model.train()
    loss, _ = MixMatch(MixMatch.Config(), C).training_step(model, batch, StepContext(5, 10))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
