"""ReMixMatch against a transcription of its loss (MixUp off: α = 0), on vectors and on images."""

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.remixmatch import ReMixMatch
from semisup.components.rotation import random_rotation
from semisup.data.batch import Batch
from semisup.nets.build import build_net, with_standardize

C, B, K = 3, 6, 3
CTX = StepContext(step=5, total_steps=10)


def setup(shape: tuple[int, ...], seed: int = 0, **cfg):
    torch.manual_seed(seed)
    net = build_net("cnn", shape, C, None) if len(shape) == 3 else build_net("mlp", shape, C)
    model = with_standardize(net, torch.rand(32, *shape), "image" if len(shape) == 3 else "vector")
    algo = ReMixMatch(ReMixMatch.Config(K=K, alpha=0.0, rampup=0.0, **cfg), C)
    algo.attach(model)
    model.eval()  # BatchNorm's running statistics: separate passes equal the concatenated one
    views = tuple(torch.rand(B, *shape) for _ in range(K + 1))  # weak, then K strong
    batch = Batch(torch.rand(B, *shape), torch.arange(B) % C, views, torch.arange(B), torch.arange(B) % C)
    return algo, model, batch


def guess(model, batch, p_data, p_model, T=0.5):
    with torch.no_grad():
        p = torch.softmax(model(batch.u_views[0]), -1)
    p = p * p_data / p_model
    p = p / p.sum(-1, keepdim=True)
    p = p ** (1 / T)
    return p, p / p.sum(-1, keepdim=True)


def xent(logits, q):
    return -(q * torch.log_softmax(logits, -1)).sum(-1).mean()


def test_remixmatch_paper_defaults_and_views():
    cfg = ReMixMatch.Config()
    assert (cfg.K, cfg.T, cfg.alpha, cfg.lambda_u, cfg.lambda_u1, cfg.lambda_rot) == (
        8,
        0.5,
        0.75,
        1.5,
        0.5,
        0.5,
    )
    assert (cfg.rampup, cfg.window) == (1 / 64, 128) and ReMixMatch.default_mu == 1
    algo = ReMixMatch(ReMixMatch.Config(K=2), C)
    assert algo.unlabeled_views == ("weak", "strong", "strong") and algo.labeled_view == "strong"
    with pytest.raises(ValueError, match="remixmatch.K must be an int >= 1"):
        ReMixMatch(ReMixMatch.Config(K=0), C)
    with pytest.raises(ValueError, match="remixmatch.lambda_rot must be >= 0"):
        ReMixMatch(ReMixMatch.Config(lambda_rot=-1.0), C)


def test_remixmatch_matches_hand_computation_and_moves_its_windows_after_use():
    algo, model, batch = setup((5,))
    assert not algo._aux  # vectors: no rotation head
    p_data, p_model = torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.2, 0.2, 0.6])
    algo.p_data.history.copy_(p_data.expand(128, C))
    algo.p_model.history.copy_(p_model.expand(128, C))
    loss, logs = algo.training_step(model, batch, CTX)

    _, q = guess(model, batch, p_data, p_model)
    sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    strong = [model(u) for u in batch.u_views[1:]]
    unsup = sum(xent(s, q) for s in strong) / K
    premix = xent(strong[0], q)
    assert torch.allclose(loss, sup + 1.5 * unsup + 0.5 * premix, atol=1e-5)
    assert torch.allclose(logs["train/unsup_loss"], unsup, atol=1e-5)
    assert torch.allclose(logs["train/premix_loss"], premix, atol=1e-5)
    # the windows take this batch after the guess: slot 0 holds its means
    with torch.no_grad():
        assert torch.allclose(algo.p_model.history[0], torch.softmax(model(batch.u_views[0]), -1).mean(0))
    assert torch.allclose(algo.p_data.history[0], torch.tensor([2.0, 2.0, 2.0]) / 6)
    assert int(algo.p_model.position) == 1


def test_remixmatch_alignment_lifts_classes_the_model_underpredicts():
    algo, model, batch = setup((5,), seed=1)
    algo.p_model.history.copy_(torch.tensor([0.8, 0.1, 0.1]).expand(128, C))
    _, q = guess(model, batch, torch.full((C,), 1 / C), torch.tensor([0.8, 0.1, 0.1]))
    with torch.no_grad():
        raw = torch.softmax(model(batch.u_views[0]), -1)
    assert (q[:, 0] < raw[:, 0]).all()
    assert torch.allclose(algo.guess_label(model, batch.u_views[0], batch.y_lb, CTX), q, atol=1e-6)


def test_remixmatch_on_images_adds_the_rotation_loss_of_the_first_strong_view():
    algo, model, batch = setup((1, 8, 8), lambda_rot=0.25)
    assert set(algo.heads) == {"rotation"}
    torch.manual_seed(7)
    loss, logs = algo.training_step(model, batch, CTX)
    torch.manual_seed(7)  # α = 0 draws nothing: the rotations are the step's first draw
    rot_x, k = random_rotation(batch.u_views[1])
    logits = algo.heads["rotation"](model[1].features(model[0](rot_x)))
    rot = F.cross_entropy(logits, k)
    assert torch.allclose(logs["train/rot_loss"], rot, atol=1e-6)
    no_rot = loss - 0.25 * rot
    _, q = guess(model, batch, torch.full((C,), 1 / C), torch.full((C,), 1 / C))
    strong = [model(u) for u in batch.u_views[1:]]
    sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    assert torch.allclose(
        no_rot, sup + 1.5 * sum(xent(s, q) for s in strong) / K + 0.5 * xent(strong[0], q), atol=1e-5
    )
