"""Training-only heads on a net: features from one pass, left out of the saved classifier, EMA-safe."""

import copy

import pytest
import torch
from torch import nn

from semisup.components.aux_heads import attach_aux_heads, rotation_head, takes_images
from semisup.components.ema import EMA
from semisup.nets.build import build_net, with_standardize


def model_with_heads(kind: str = "vector"):
    torch.manual_seed(0)
    if kind == "image":
        model = with_standardize(build_net("cnn", (1, 8, 8), 3), torch.rand(16, 1, 8, 8), "image")
    else:
        model = with_standardize(build_net("mlp", (5,), 3), torch.randn(16, 5), "vector")
    heads = attach_aux_heads(model, {"proj": lambda d: nn.Linear(d, 2), "rotation": rotation_head(False)})
    return model.eval(), heads


def test_one_forward_gives_the_logits_and_the_classifier_input():
    model, heads = model_with_heads()
    x = torch.randn(4, 5)
    logits = model(x)
    z = heads.take_features()
    with pytest.raises(RuntimeError, match="no forward pass"):
        heads.take_features()  # handed out once
    assert torch.allclose(z, model[1].features(model[0](x)))
    assert torch.allclose(model[1].classifier(z), logits)


def test_heads_are_model_parameters_but_not_in_its_state_dict():
    model, heads = model_with_heads()
    names = [n for n, _ in model.named_parameters()]
    assert "1.aux_heads.proj.weight" in names and "1.aux_heads.rotation.bias" in names
    assert not any("aux_heads" in k for k in model.state_dict())
    plain = with_standardize(build_net("mlp", (5,), 3), torch.randn(16, 5), "vector")
    plain.load_state_dict(model.state_dict())  # a predictor rebuilds the plain net and loads strictly
    model.load_state_dict(plain.state_dict())  # and the model with heads loads a plain state
    assert heads["rotation"].out_features == 4


def test_the_ema_copy_captures_into_its_own_heads():
    model, heads = model_with_heads("image")
    ema = EMA(model, 0.9)
    ema(torch.rand(2, 1, 8, 8))
    with pytest.raises(RuntimeError):
        heads.take_features()  # the copy's pass did not write into the training model's heads
    assert ema.module[1].aux_heads.take_features().shape == (2, model[1].feature_dim)
    assert not any("aux_heads" in k for k in ema.state_dict())


def test_attach_twice_or_on_a_net_without_a_classifier_is_refused():
    model, _ = model_with_heads()
    with pytest.raises(ValueError, match="already carries auxiliary heads"):
        attach_aux_heads(model, {})
    with pytest.raises(ValueError, match="has no 'classifier'"):
        attach_aux_heads(nn.Sequential(nn.Identity(), nn.Linear(3, 2)), {})


def test_takes_images_reads_the_standardisation():
    assert takes_images(model_with_heads("image")[0])
    assert not takes_images(model_with_heads("vector")[0])
    assert not takes_images(copy.deepcopy(nn.Linear(2, 2)))
