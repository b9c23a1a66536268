"""Pretraining → fine-tuning (--init) → distillation on the one training loop, and init from files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import blobs

from semisup.cli import main
from semisup.config import RunConfig
from semisup.engine.callbacks import Callback
from semisup.engine.checkpoint import read_checkpoint
from semisup.engine.init import InitError, load_init
from semisup.engine.setup import build_model
from semisup.nets.heads import SimCLRProjectionHead, head_classifier, head_dims_from_state
from semisup.predictor import load
from semisup.run import fit

BASE = {
    "net": {"name": "mlp", "hidden": [32]},
    "data": {"batch_size": 8, "mu": 2, "labels_per_class": None},
    "train": {"steps": 12, "eval_every": 12, "log_every": 4, "progress": False},
}


def cfg(algorithm, **train) -> RunConfig:
    return RunConfig.from_dict({**BASE, "algorithm": algorithm, "train": {**BASE["train"], **train}})


@pytest.fixture(scope="module")
def pre(tmp_path_factory):
    out = tmp_path_factory.mktemp("route") / "pre"
    fit(cfg({"name": "simclr", "head_dim": 16}), out, data=blobs())
    return out


def ema_state(run):
    ck = read_checkpoint(run / "checkpoints" / "last.ckpt")
    return {k[len("module.") :]: v for k, v in ck["ema"].items() if k.startswith("module.")}


def test_projection_head_shapes_and_fine_tune_keys():
    head = SimCLRProjectionHead(8, 6, 4)
    assert head(torch.randn(3, 8)).shape == (3, 4) and head.dims == [8, 6, 6, 4]
    assert isinstance(head[2][-1], torch.nn.BatchNorm1d)  # no ReLU after the last layer
    state = {f"h.{k}": v for k, v in head.state_dict().items()}
    assert head_dims_from_state(state, "h.", 2) == [8, 6, 6]
    clf = head_classifier([8, 6], 3)
    missing = clf.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("h.0.")}, strict=False)
    assert missing.missing_keys == ["1.weight", "1.bias"]  # only the new classifier is fresh
    with pytest.raises(ValueError, match="has 3 head layer"):
        head_dims_from_state(state, "h.", 4)


def test_pretrain_run_is_self_describing_and_not_a_classifier(pre):
    s = json.loads((pre / "summary.json").read_text())
    assert s["algorithm"] == "simclr" and s["test_accuracy"] is None
    head = {"name": "simclr_projection", "args": {"hidden_dim": 0, "out_dim": 16, "num_layers": 3}}
    assert s["heads"] == [{**head, "classifies": False}]  # the model outputs projections
    assert s["n_labeled"] == 0 and s["n_unlabeled"] == 120  # every training input, labels unused
    metrics = (pre / "metrics.csv").read_text()
    assert "train/unsup_loss" in metrics and "train/contrastive_acc" in metrics
    with pytest.raises(ValueError, match="no classifier.*--init"):
        load(pre)


def test_simclr_trains_on_every_training_input(tmp_path):
    """The pool is all inputs, labeled or not, even when SSL runs would exclude the labeled ones."""
    seen = {}

    class Spy(Callback):
        def on_train_start(self, trainer):
            seen["pool"], seen["lab"] = trainer.tensors.n_pool, trainer.lab_stream

    data = blobs()
    c = cfg("simclr", steps=2)
    c.data.unlabeled_includes_labeled = False
    fit(c, tmp_path / "p", data=data, callbacks=[Spy()])
    assert seen["pool"] == len(data.X) and seen["lab"] is None


@pytest.mark.parametrize("head_layers", [0, 1, 2])
def test_init_loads_encoder_and_head_layers(pre, head_layers):
    data = blobs()
    c = cfg("supervised")
    model = build_model(c, data)
    report = load_init(model, pre, data.num_classes, head_layers)
    src = ema_state(pre)
    got = model.state_dict()
    for k, v in got.items():
        if k.startswith("1.body") or k.startswith("0."):
            assert torch.equal(v, src[k]), k
    for i in range(head_layers):
        assert torch.equal(got[f"1.classifier.{i}.0.weight"], src[f"1.classifier.{i}.0.weight"])
    assert report.missing == [f"1.classifier.{head_layers}.weight", f"1.classifier.{head_layers}.bias"] or (
        head_layers == 0 and report.missing == ["1.classifier.weight", "1.classifier.bias"]
    )
    assert all(k.startswith("1.classifier.") for k in report.unused)
    assert model(torch.randn(4, 5)).shape == (4, 3)


def test_fine_tune_then_distill_end_to_end(pre, tmp_path):
    data = blobs()
    ft = tmp_path / "ft"
    r = fit(cfg("supervised", init=str(pre), init_head_layers=1), ft, data=data)
    head = {"name": "projection_classifier", "args": {"dims": [32, 32]}, "classifies": True}
    assert r.summary["heads"] == [head] and r.summary["test_accuracy"] > 0.9
    assert RunConfig.from_yaml(ft / "config.yaml").train.init == str(pre)
    assert json.loads((ft / "init.json").read_text())["head"] == head
    pred = load(ft)  # the predictor rebuilds the head-layer classifier
    assert (pred.predict_ids(data.X_test) == data.y_test).mean() == r.summary["test_accuracy"]

    before = {k: v.clone() for k, v in pred.model.state_dict().items()}
    st = fit(
        RunConfig.from_dict(
            {
                **BASE,
                "algorithm": {"name": "distill", "teacher": str(ft), "T": 2.0},
                "net": {"name": "mlp", "hidden": [8]},
            }
        ),
        tmp_path / "student",
        data=data,
    )
    assert st.summary["test_accuracy"] > 0.9
    assert RunConfig.from_yaml(tmp_path / "student" / "config.yaml").net_args.hidden == (8,)
    ck = read_checkpoint(tmp_path / "student" / "checkpoints" / "last.ckpt")
    teacher = {k[len("teacher.") :]: v for k, v in ck["algorithm"].items() if k.startswith("teacher.")}
    assert teacher and all(torch.equal(teacher[k], before[k]) for k in before)  # frozen
    assert "train/pseudo_acc" in (tmp_path / "student" / "metrics.csv").read_text()


def test_init_from_state_dict_and_safetensors(tmp_path):
    data = blobs()
    src = build_model(cfg("supervised"), data)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(1.0)
    net_state = src[1].state_dict()  # a bare net's keys (body..., classifier...)
    torch.save(net_state, tmp_path / "net.pt")
    torch.save({"state_dict": src.state_dict()}, tmp_path / "wrapped.pt")
    for path in (tmp_path / "net.pt", tmp_path / "wrapped.pt"):
        model = build_model(cfg("supervised"), data)
        report = load_init(model, path, 3)
        assert torch.equal(model[1].body[0].weight, src[1].body[0].weight)
        assert torch.equal(model[1].classifier.weight, src[1].classifier.weight)  # same classes: loaded
        assert not report.unused
    safetensors = pytest.importorskip("safetensors.torch")
    safetensors.save_file({k: v.contiguous() for k, v in net_state.items()}, str(tmp_path / "w.safetensors"))
    model = build_model(cfg("supervised"), data)
    load_init(model, tmp_path / "w.safetensors", 3)
    assert torch.equal(model[1].body[0].weight, src[1].body[0].weight)


def test_init_errors_name_the_problem(pre, tmp_path):
    data = blobs()
    wide = RunConfig.from_dict({**BASE, "algorithm": "supervised", "net": {"name": "mlp", "hidden": [7]}})
    with pytest.raises(InitError, match=r"does not fit the net.*1\.body\.0\.weight"):
        load_init(build_model(wide, data), pre, 3)
    with pytest.raises(InitError, match="does not exist"):
        load_init(build_model(cfg("supervised"), data), tmp_path / "nope.pt", 3)
    torch.save({"foo.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(InitError, match="no encoder tensor"):
        load_init(build_model(cfg("supervised"), data), tmp_path / "other.pt", 3)
    with pytest.raises(InitError, match="at most 2"):
        load_init(build_model(cfg("supervised"), data), pre, 3, head_layers=3)
    torch.save(build_model(cfg("supervised"), data).state_dict(), tmp_path / "plain.pt")
    with pytest.raises(InitError, match="needs a pretraining run"):
        load_init(build_model(cfg("supervised"), data), tmp_path / "plain.pt", 3, head_layers=1)


def test_cli_pretrain_train_init_distill(tmp_path, capsys):
    d = blobs()
    np.savez(tmp_path / "d.npz", X=d.X, y=d.y, X_test=d.X_test, y_test=d.y_test)
    common = [
        "--data",
        str(tmp_path / "d.npz"),
        "--steps",
        "6",
        "--no-progress",
        "--set",
        "data.batch_size=8",
        "--set",
        "data.mu=2",
    ]
    assert main(["pretrain", *common, "--out", str(tmp_path / "pre")]) == 0
    assert "self-supervised pretraining" in capsys.readouterr().out
    assert RunConfig.from_yaml(tmp_path / "pre" / "config.yaml").algorithm == "simclr"
    assert (
        main(
            [
                "train",
                *common,
                "--algorithm",
                "fixmatch",
                "--init",
                str(tmp_path / "pre"),
                "--init-head-layers",
                "1",
                "--out",
                str(tmp_path / "ft"),
            ]
        )
        == 0
    )
    assert "init from" in capsys.readouterr().out
    c = RunConfig.from_yaml(tmp_path / "ft" / "config.yaml")
    assert c.train.init == str(tmp_path / "pre") and c.train.init_head_layers == 1
    assert (
        main(
            [
                "distill",
                *common,
                "--teacher",
                str(tmp_path / "ft"),
                "--T",
                "2",
                "--alpha",
                "0.5",
                "--out",
                str(tmp_path / "st"),
            ]
        )
        == 0
    )
    c = RunConfig.from_yaml(tmp_path / "st" / "config.yaml")
    assert c.algorithm == "distill" and c.algorithm_args.T == 2.0 and c.algorithm_args.alpha == 0.5
    assert main(["train", *common, "--init", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_objectives_validate_their_config():
    from semisup.algorithms.distill import Distill
    from semisup.algorithms.simclr import SimCLR

    with pytest.raises(ValueError, match="temperature must be > 0"):
        SimCLR(SimCLR.Config(temperature=0.0), 3)
    with pytest.raises(ValueError, match="head_layers >= 1"):
        SimCLR(SimCLR.Config(head_layers=0), 3)
    with pytest.raises(ValueError, match="T must be > 0"):
        Distill(Distill.Config(T=0.0), 3)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        Distill(Distill.Config(alpha=1.5), 3)
    with pytest.raises(ValueError, match="teacher_view must be one of"):
        Distill(Distill.Config(teacher_view="mixed"), 3)
    d = Distill(Distill.Config(teacher_view="none", student_view="weak"), 3)
    assert d.unlabeled_views == ("none", "weak")  # the views the engine draws for this instance
