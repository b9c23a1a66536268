"""UDA against a transcription of the paper's equations, and its training-signal annealing."""

import math

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.uda import UDA
from semisup.data.batch import Batch
from semisup.nets.build import build_net

C, D, B, MU = 3, 6, 8, 2


def net_and_batch(seed=0):
    torch.manual_seed(seed)
    model = build_net("mlp", (D,), C).eval()
    u = torch.randn(B * MU, D)
    batch = Batch(torch.randn(B, D), torch.arange(B) % C, (u + 0.1 * torch.randn_like(u), -u), None, None)
    return model, batch


def test_uda_paper_defaults_and_validation():
    cfg = UDA.Config()
    assert (cfg.threshold, cfg.T, cfg.lambda_u, cfg.tsa) == (0.8, 0.4, 1.0, "none")
    assert UDA.unlabeled_views == ("weak", "strong") and "1904.12848" in UDA.paper
    with pytest.raises(ValueError, match="uda.tsa must be 'none' or one of"):
        UDA(UDA.Config(tsa="cosine"), C)
    with pytest.raises(ValueError, match="uda.T must be > 0"):
        UDA(UDA.Config(T=0.0), C)


def test_uda_matches_hand_computation():
    model, batch = net_and_batch()
    u_w, u_s = batch.u_views
    with torch.no_grad():
        conf = torch.softmax(model(u_w), -1).max(-1).values
    beta = float(conf.median())  # some examples pass the confidence threshold, some do not
    algo = UDA(UDA.Config(threshold=beta, lambda_u=2.0), C)
    loss, logs = algo.training_step(model, batch, StepContext(3, 10))

    with torch.no_grad():
        lx = F.log_softmax(model(batch.x_lb), -1)
        sup = -sum(lx[i, batch.y_lb[i]] for i in range(B)) / B
        p_w, p_s = torch.softmax(model(u_w), -1).tolist(), torch.softmax(model(u_s), -1).tolist()
    unsup, used = 0.0, 0
    for pw, ps in zip(p_w, p_s, strict=True):
        if max(pw) >= beta:
            z = sum(v ** (1 / 0.4) for v in pw)
            q = [v ** (1 / 0.4) / z for v in pw]  # sharpened target, T = 0.4
            unsup += sum(qc * math.log(qc / pc) for qc, pc in zip(q, ps, strict=True))  # KL(q || p_s)
            used += 1
    unsup /= B * MU  # masked mean over all unlabeled examples
    assert 0 < used < B * MU
    assert loss.item() == pytest.approx(float(sup) + 2.0 * unsup, abs=1e-5)
    assert float(logs["train/unsup_loss"]) == pytest.approx(unsup, abs=1e-6)
    assert float(logs["train/mask_ratio"]) == pytest.approx(used / (B * MU))


def test_uda_gradient_flows_through_the_strong_view_only():
    u_w, u_s = torch.randn(4, C, requires_grad=True), torch.randn(4, C, requires_grad=True)
    batch = Batch(torch.randn(2, C), torch.tensor([0, 1]), (u_w, u_s))
    loss, _ = UDA(UDA.Config(threshold=0.0), C).training_step(torch.nn.Identity(), batch, StepContext(0, 10))
    loss.backward()
    assert (u_w.grad == 0).all() and (u_s.grad != 0).any()


@pytest.mark.parametrize("schedule", ["linear", "log", "exp"])
def test_tsa_masks_exactly_the_confident_labeled_examples(schedule):
    # The identity "net" makes the inputs the logits: correct-class probabilities are chosen by hand.
    p_correct = torch.tensor([0.95, 0.40, 0.70, 0.62, 0.50, 0.34])
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    probs = torch.empty(6, C)
    for i in range(6):
        probs[i] = (1 - p_correct[i]) / 2
        probs[i, y[i]] = p_correct[i]
    x_lb = probs.log()
    u = torch.zeros(4, C)
    batch = Batch(x_lb, y, (u, u))
    ctx = StepContext(5, 10)  # t = 0.5
    eta = {"linear": 0.5, "log": 1 - math.exp(-2.5), "exp": math.exp(-2.5)}[schedule] * 2 / 3 + 1 / 3
    keep = p_correct <= eta  # linear: eta = 2/3 drops 0.95 and 0.70; log: 0.9454 drops 0.95; exp: 0.3880
    _, logs = UDA(UDA.Config(tsa=schedule), C).training_step(torch.nn.Identity(), batch, ctx)
    ce = -p_correct.log()
    assert float(logs["train/sup_loss"]) == pytest.approx(float(ce[keep].mean()), rel=1e-6)
    assert float(logs["train/tsa_threshold"]) == pytest.approx(eta)
    assert float(logs["train/sup_mask_ratio"]) == pytest.approx(float(keep.float().mean()))
    assert 0 < keep.sum() < 6
    # without TSA every labeled example counts
    _, logs = UDA(UDA.Config(), C).training_step(torch.nn.Identity(), batch, ctx)
    assert float(logs["train/sup_loss"]) == pytest.approx(float(ce.mean()), rel=1e-6)


def test_tsa_with_every_example_masked_gives_zero_supervised_loss():
    x_lb = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    u = torch.zeros(2, C)
    batch = Batch(x_lb, torch.tensor([0, 1]), (u, u))
    loss, logs = UDA(UDA.Config(tsa="linear"), C).training_step(
        torch.nn.Identity(), batch, StepContext(0, 10)
    )
    assert float(logs["train/sup_loss"]) == 0.0 and torch.isfinite(loss)
