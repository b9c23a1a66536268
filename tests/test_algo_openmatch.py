"""OpenMatch's losses against hand computations and its whole step against a naive transcription."""

import math

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.openmatch import OpenMatch
from semisup.data.batch import Batch
from semisup.losses.open_set import ova_entropy, ova_loss, ova_probs, socr_loss
from semisup.nets.build import build_net
from semisup.nets.open_set_head import OpenSetHead

K, D, B, MU = 3, 6, 6, 2


def test_ova_loss_by_hand():
    # One example, K = 3, true class 0. Outlier logits row 0, inlier logits row 1 (the (N, 2, K) view).
    out_logits, in_logits = torch.tensor([0.0, 1.0, -1.0]), torch.tensor([2.0, 0.0, 0.5])
    logits = torch.cat([out_logits, in_logits])[None]
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731  (pair softmax: p(in) = σ(in − out))
    p_in = [sig(float(i - o)) for o, i in zip(out_logits, in_logits, strict=True)]
    pos = -math.log(p_in[0])
    hardest_neg = max(-math.log(1 - p_in[1]), -math.log(1 - p_in[2]))  # classes 1 and 2
    assert ova_loss(logits, torch.tensor([0])).item() == pytest.approx(pos + hardest_neg, rel=1e-5)
    # a batch is the mean of its examples
    two = torch.cat([logits, logits.flip(1)])
    each = [ova_loss(two[i : i + 1], torch.tensor([c])) for i, c in enumerate((0, 2))]
    assert ova_loss(two, torch.tensor([0, 2])).item() == pytest.approx(float(sum(each) / 2), rel=1e-6)


def test_ova_probs_layout_entropy_and_socr():
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [3.0, -1.0, 3.0, 1.0]])  # K = 2
    p = ova_probs(logits)
    assert p.shape == (2, 2, 2) and torch.allclose(p.sum(1), torch.ones(2, 2))
    assert p[1, 0, 0].item() == pytest.approx(0.5) and p[1, 1, 1].item() == pytest.approx(
        1 / (1 + math.exp(-2))
    )
    # entropy: the undecided example has log 2 per head, the other the mean of its two heads' entropies
    h = lambda q: -(q * math.log(q) + (1 - q) * math.log(1 - q))  # noqa: E731
    expected = (math.log(2) + (math.log(2) + h(1 / (1 + math.exp(-2)))) / 2) / 2
    assert ova_entropy(logits).item() == pytest.approx(expected, rel=1e-5)
    # SOCR: zero for identical views, symmetric, and Σ (Δp)² by hand
    other = torch.zeros_like(logits)
    assert socr_loss(logits, logits).item() == 0.0
    assert socr_loss(logits, other).item() == pytest.approx(socr_loss(other, logits).item())
    d = (p - 0.5).pow(2).sum(dim=(1, 2)).mean()
    assert socr_loss(logits, other).item() == pytest.approx(d.item(), rel=1e-6)
    with pytest.raises(ValueError, match=r"\(N, 2K\)"):
        ova_probs(torch.zeros(2, 3))


def model_and_batch(seed: int = 0):
    torch.manual_seed(seed)
    net = build_net("mlp", (D,), K).eval()
    u = torch.randn(B * MU, D)
    views = (u + 0.1 * torch.randn_like(u), u - 0.1 * torch.randn_like(u), -u)
    batch = Batch(
        torch.randn(B, D), torch.arange(B) % K, views, torch.arange(B * MU), torch.arange(B * MU) % K
    )
    return net, batch


def test_openmatch_step_matches_naive_transcription():
    net, batch = model_and_batch()
    cfg = OpenMatch.Config(threshold=0.3, inlier_threshold=0.6)
    algo = OpenMatch(cfg, K)
    algo.attach(net)
    head = net.classifier
    assert isinstance(head, OpenSetHead) and algo.meta() == {
        "open_set_head": {"kind": "ova", "proj_dim": 128}
    }
    loss, logs = algo.training_step(net, batch, StepContext(5, 10))

    with torch.no_grad():
        f = net.features
        ova = lambda x: head.detector(f(x)).view(len(x), 2, K).softmax(1)  # noqa: E731
        cls = lambda x: head.closed(f(x))  # noqa: E731
        u1, u2, us = batch.u_views
        sup = F.cross_entropy(cls(batch.x_lb), batch.y_lb)
        o = ova(batch.x_lb)
        ova_l = 0.0
        for i, y in enumerate(batch.y_lb.tolist()):
            negs = [-math.log(o[i, 0, k] + 1e-8) for k in range(K) if k != y]
            ova_l += (-math.log(o[i, 1, y] + 1e-8) + max(negs)) / B
        o1, o2 = ova(u1), ova(u2)
        ent = lambda q: -(q * torch.log(q + 1e-8)).sum(1).mean()  # noqa: E731
        em = (ent(o1) + ent(o2)) / 2
        socr = ((o1 - o2) ** 2).sum(dim=(1, 2)).mean()
        p = cls(u1).softmax(1)
        ls = cls(us).log_softmax(1)
        used = [i for i in range(B * MU) if o1[i, 0, p[i].argmax()] < 0.6 and p[i].max() >= 0.3]
        fix = sum(-ls[i, p[i].argmax()] for i in used) / max(len(used), 1)
    assert 0 < len(used) < B * MU  # the case exercises the inlier selection
    expected = sup + ova_l + 0.1 * em + 0.5 * socr + fix
    assert loss.item() == pytest.approx(float(expected), rel=1e-5)
    assert logs["train/mask_ratio"].item() == pytest.approx(len(used) / (B * MU))
    assert logs["train/fix_loss"].item() == pytest.approx(float(fix), rel=1e-5)


def test_fixmatch_term_waits_for_the_warmup():
    net, batch = model_and_batch()
    algo = OpenMatch(OpenMatch.Config(inlier_threshold=1.0, fix_start=0.5), K)
    algo.attach(net)
    _, before = algo.training_step(net, batch, StepContext(4, 10))
    _, after = algo.training_step(net, batch, StepContext(5, 10))
    assert before["train/fix_loss"].item() == 0.0 and before["train/mask_ratio"].item() == 0.0
    assert after["train/fix_loss"].item() > 0 and after["train/mask_ratio"].item() == 1.0


def test_paper_defaults_and_validation():
    cfg = OpenMatch.Config()
    assert (cfg.lambda_em, cfg.lambda_socr, cfg.threshold, cfg.inlier_threshold) == (0.1, 0.5, 0.0, 0.5)
    assert cfg.fix_start == pytest.approx(10 / 512) and OpenMatch.default_mu == 2
    assert OpenMatch.unlabeled_views == ("weak", "weak", "strong") and "2105.14148" in OpenMatch.paper
    with pytest.raises(ValueError, match="openmatch.inlier_threshold must be in"):
        OpenMatch(OpenMatch.Config(inlier_threshold=1.5), K)
    with pytest.raises(ValueError, match="T > 0"):
        OpenMatch(OpenMatch.Config(T=0.0), K)
