"""Head surgery in one place (semisup.nets.heads): specs, swapping, and run folders from before ``heads``."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from semisup.engine.init import InitReport
from semisup.nets.heads import (
    HeadSpec,
    SimCLRProjectionHead,
    classifier_net,
    classifies,
    head_specs,
    put_head,
)
from semisup.nets.mlp import MLP


def mlp(width: int = 12) -> nn.Sequential:
    return nn.Sequential(nn.Identity(), MLP((5,), 3, MLP.Config(hidden=(width,))))


def test_put_head_replaces_the_classifier_and_the_spec_round_trips():
    model = mlp()
    spec = HeadSpec("simclr_projection", {"hidden_dim": 0, "out_dim": 4, "num_layers": 2}, classifies=False)
    head = put_head(model, HeadSpec.from_dict(json.loads(json.dumps(spec.to_dict()))), 3)
    assert isinstance(head, SimCLRProjectionHead) and head.dims == [12, 12, 4]  # hidden 0: the net's width
    assert model[1].classifier is head and model(torch.randn(6, 5)).shape == (6, 4)
    clf = put_head(mlp(), HeadSpec("projection_classifier", {"dims": [12, 7]}), 3)
    assert [type(m).__name__ for m in clf] == ["Sequential", "Linear"] and clf[1].out_features == 3


def test_head_specs_read_run_folders_written_before_heads():
    old = {"projection_head": [12, 12, 12, 4], "classifier_head": [12, 12]}
    specs = head_specs(old)
    assert [s.name for s in specs] == ["projection_classifier", "simclr_projection"]
    assert specs[1].args == {"hidden_dim": 12, "out_dim": 4, "num_layers": 3} and not classifies(old)
    assert put_head(mlp(), specs[1], 3).dims == [12, 12, 12, 4]
    assert classifies({"heads": [specs[0].to_dict()]}) and classifies({})


def test_init_report_reads_the_old_head_dims(tmp_path):
    (tmp_path / "init.json").write_text(json.dumps({"source": "x", "head_dims": [12, 12]}))
    report = InitReport.from_json(tmp_path / "init.json")
    assert report.head_spec == HeadSpec("projection_classifier", {"dims": [12, 12]})
    (tmp_path / "plain.json").write_text(json.dumps({"source": "x", "head_dims": None}))
    assert InitReport.from_json(tmp_path / "plain.json").head_spec is None


def test_a_net_without_a_swappable_classifier_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="no 'classifier' module and 'feature_dim'"):
        classifier_net(nn.Sequential(nn.Identity(), nn.Linear(5, 3)))
    with pytest.raises(KeyError, match="unknown head 'nope'"):
        put_head(mlp(), HeadSpec("nope"), 3)
