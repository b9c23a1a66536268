"""CRMatch against a transcription of its loss, on vectors (no rotation) and on images (rotation)."""

import pytest
import torch
import torch.nn.functional as F

from semisup.algorithms.base import StepContext
from semisup.algorithms.crmatch import CRMatch
from semisup.data.batch import Batch
from semisup.nets.build import build_net, with_standardize

C, B, MU = 3, 4, 2
CTX = StepContext(step=5, total_steps=10)


def setup(shape: tuple[int, ...], seed: int = 0, **cfg):
    torch.manual_seed(seed)
    X = torch.rand(32, *shape)
    net = build_net("cnn", shape, C, None) if len(shape) == 3 else build_net("mlp", shape, C)
    model = with_standardize(net, X, "image" if len(shape) == 3 else "vector")
    algo = CRMatch(CRMatch.Config(**cfg), C)
    algo.attach(model)
    model.eval()  # BatchNorm's running statistics: separate passes equal the concatenated one
    u = torch.rand(B * MU, *shape)
    views = (u, torch.rand(B * MU, *shape))
    batch = Batch(
        torch.rand(B, *shape), torch.arange(B) % C, views, torch.arange(B * MU), torch.arange(B * MU) % C
    )
    return algo, model, batch


def reference(algo, model, batch, tau: float):
    """The loss term by term, from separate forward passes through the net's pieces."""
    net, heads = model[1], algo.heads
    feats = lambda x: net.features(model[0](x))  # noqa: E731
    u_w, u_s = batch.u_views
    with torch.no_grad():
        pw = torch.softmax(model(u_w), -1)
    conf, pl = pw.max(-1)
    mask = (conf >= tau).float()
    sup = F.cross_entropy(model(batch.x_lb), batch.y_lb)
    unsup = (F.cross_entropy(model(u_s), pl, reduction="none") * mask).mean()
    h = heads["feature_dist"]
    cos = F.cosine_similarity(h(feats(u_s)), h(feats(u_w)), dim=-1)
    dist = (torch.maximum(cos, torch.zeros_like(cos)) * mask).mean()
    return sup, unsup, dist, mask


def test_crmatch_defaults_and_validation():
    cfg = CRMatch.Config()
    assert (cfg.threshold, cfg.lambda_u, cfg.lambda_d, cfg.lambda_rot) == (0.95, 1.0, 1.0, 1.0)
    assert CRMatch.unlabeled_views == ("weak", "strong") and "2112.05825" in CRMatch.paper
    with pytest.raises(ValueError, match="crmatch.lambda_d must be >= 0, got -1"):
        CRMatch(CRMatch.Config(lambda_d=-1.0), C)
    with pytest.raises(ValueError, match="crmatch.threshold"):
        CRMatch(CRMatch.Config(threshold=1.5), C)


def test_crmatch_on_vectors_matches_hand_computation_without_rotation():
    algo, model, batch = setup((6,), lambda_d=0.3)
    assert set(algo.heads) == {"feature_dist"}  # no rotation for vectors
    with torch.no_grad():
        tau = float(torch.softmax(model(batch.u_views[0]), -1).max(-1).values.median())
    algo.cfg.threshold = tau
    loss, logs = algo.training_step(model, batch, CTX)
    sup, unsup, dist, mask = reference(algo, model, batch, tau)
    assert 0 < mask.sum() < len(mask) and dist > 0
    assert torch.allclose(loss, sup + unsup + 0.3 * dist, atol=1e-6)
    assert torch.allclose(logs["train/dist_loss"], dist, atol=1e-6) and "train/rot_loss" not in logs


def test_crmatch_on_images_adds_rotation_of_every_weak_view_at_four_angles():
    algo, model, batch = setup((1, 8, 8), threshold=0.0, lambda_rot=0.5)
    assert set(algo.heads) == {"feature_dist", "rotation"}
    loss, logs = algo.training_step(model, batch, CTX)
    sup, unsup, dist, _ = reference(algo, model, batch, 0.0)
    first = batch.u_views[0][:B]  # the first B weak views, as many as the labeled batch
    g = algo.heads["rotation"]
    rot = (
        sum(
            F.cross_entropy(
                g(model[1].features(model[0](torch.rot90(first, r, (2, 3))))), torch.full((B,), r)
            )
            for r in range(4)
        )
        / 4
    )
    assert torch.allclose(logs["train/rot_loss"], rot, atol=1e-5)
    assert torch.allclose(loss, sup + unsup + dist + 0.5 * rot, atol=1e-5)


def test_crmatch_heads_train_with_the_model_and_stay_out_of_the_saved_classifier():
    algo, model, _ = setup((1, 8, 8))
    keys = model.state_dict().keys()
    assert not any("aux_heads" in k for k in keys)
    heads = {n for n, _ in model.named_parameters() if "aux_heads" in n}
    assert heads and not list(algo.parameters())  # the model's parameters, not the algorithm's
    fresh = with_standardize(build_net("cnn", (1, 8, 8), C), torch.rand(4, 1, 8, 8), "image")
    fresh.load_state_dict(model.state_dict())  # what semisup.load does, strictly
    # the algorithm's state carries the heads: a rebuilt model and algorithm get them back
    algo2, model2, _ = setup((1, 8, 8), seed=1)
    algo2.load_state_dict(algo.state_dict())
    model2.load_state_dict(model.state_dict())
    for (n, p), (_, p2) in zip(model.named_parameters(), model2.named_parameters(), strict=True):
        assert torch.equal(p, p2), n
