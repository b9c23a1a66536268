"""Open-set evaluation and prediction: the unknown-class test split, AUROC, summaries, "unknown" labels."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import semisup
from semisup.data.load import load_dataset
from semisup.data.mismatch import class_mismatch
from semisup.engine.open_set import auroc, logits_and_unknown_score
from semisup.nets.build import build_net
from semisup.nets.open_set_head import UNKNOWN_THRESHOLD, attach_open_set_head
from semisup.predictor import UNKNOWN_ID, UNKNOWN_NAME

MIS = [6, 7, 8, 9]


def test_auroc_equals_sklearn_with_ties_and_names_empty_groups():
    rng = np.random.default_rng(0)
    for n in (2, 7, 200):
        pos = np.r_[True, False, rng.random(n - 2) < 0.4]
        scores = rng.integers(0, 5, n).astype(float)  # many ties
        assert auroc(scores, pos) == pytest.approx(roc_auc_score(pos, scores), abs=1e-12)
        cont = rng.normal(size=n) + pos
        assert auroc(cont, pos) == pytest.approx(roc_auc_score(pos, cont), abs=1e-12)
    assert auroc(np.array([0.1, 0.9]), np.array([False, True])) == 1.0
    with pytest.raises(ValueError, match="needs both groups: got 0 positive"):
        auroc(np.array([0.1, 0.2]), np.array([False, False]))


def test_mismatch_test_split_holds_unknown_classes():
    cfg = semisup.RunConfig.from_dict(
        {"algorithm": "fixmatch", "data": {"name": "digits", "labels_per_class": 2,
                                            "mismatch_classes": MIS, "mismatch_fraction": 0.5}}
    ).data  # fmt: skip
    full = load_dataset(
        semisup.RunConfig.from_dict({"algorithm": "fixmatch", "data": {"name": "digits"}}).data, 0
    )
    data = load_dataset(cfg, 0)
    unknown = np.isin(full.y_test, MIS)
    assert len(data.X_test_unknown) == unknown.sum() and len(data.X_test) == (~unknown).sum()
    assert np.array_equal(data.X_test_unknown, full.X_test[unknown])
    assert np.array_equal(data.X_test, full.X_test[~unknown]) and data.y_test.max() == 5
    # no test example of a mismatch class: nothing to score
    no_test = class_mismatch(type(full)(full.X, full.y_true, full.classes, full.kind), MIS, 0.5, 2)
    assert no_test.X_test_unknown is None


def ova_net(seed: int = 0, K: int = 3, D: int = 4):
    torch.manual_seed(seed)
    net = build_net("mlp", (D,), K).eval()
    head = attach_open_set_head(net, "ova", K)
    with torch.no_grad():  # a decisive detector: scores spread over (0, 1), some above 0.5
        head.detector.weight.mul_(20)
    return net


def test_unknown_score_is_the_ova_outlier_probability_of_the_predicted_class():
    net, X = ova_net(), torch.randn(50, 4)
    logits, score = logits_and_unknown_score(net, X, batch_size=16)
    with torch.no_grad():
        f = net.features(X)
        o = net.classifier.detector(f).view(50, 2, 3).softmax(1)
        pred = net.classifier.closed(f).argmax(1)
    assert torch.allclose(score, o[torch.arange(50), 0, pred], atol=1e-6)
    assert 0 < (score > UNKNOWN_THRESHOLD).sum() < 50
    # a model without a detector: 1 - max softmax probability
    plain = build_net("mlp", (4,), 3).eval()
    logits, score = logits_and_unknown_score(plain, X)
    assert torch.allclose(score, 1 - logits.softmax(1).max(1).values)


@pytest.fixture(scope="module")
def open_runs(tmp_path_factory):
    """One short open-set digits run per detector kind, plus FixMatch (no detector)."""
    runs = {}
    for algo in ("openmatch", "iomatch", "fixmatch"):
        cfg = semisup.RunConfig.from_dict(
            {
                "algorithm": algo,
                "net": {"name": "cnn", "width": 4},
                "data": {"name": "digits", "labels_per_class": 2, "batch_size": 8, "mu": 2,
                         "mismatch_classes": MIS, "mismatch_fraction": 0.5},
                "train": {"steps": 4, "eval_every": 2, "progress": False},
            }
        )  # fmt: skip
        out = tmp_path_factory.mktemp(algo) / "run"
        runs[algo] = (out, semisup.fit(cfg, out).summary, load_dataset(cfg.data, cfg.seed))
    return runs


@pytest.mark.parametrize("algo", ["openmatch", "iomatch", "fixmatch"])
def test_summary_metrics_match_the_loaded_model(open_runs, algo):
    out, summary, data = open_runs[algo]
    pred = semisup.load(out)
    assert summary["closed_set_accuracy"] == summary["test_accuracy"]
    assert summary["closed_set_accuracy"] == pytest.approx(
        (pred.predict_ids(data.X_test) == data.y_test).mean()
    )
    scores = np.r_[pred.predict_unknown_score(data.X_test), pred.predict_unknown_score(data.X_test_unknown)]
    is_unknown = np.r_[np.zeros(len(data.X_test)), np.ones(len(data.X_test_unknown))]
    assert summary["unknown_auroc"] == pytest.approx(roc_auc_score(is_unknown, scores), abs=1e-6)
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "val/unknown_auroc" in header
    assert pred.open_set == (algo != "fixmatch") and ("unknown_rate" in summary) == pred.open_set


@pytest.mark.parametrize("algo", ["openmatch", "iomatch"])
def test_predict_says_unknown_where_the_score_exceeds_the_threshold(open_runs, algo):
    out, summary, data = open_runs[algo]
    pred = semisup.load(out)
    X = np.concatenate([data.X_test, data.X_test_unknown])
    score = pred.predict_unknown_score(X)
    labels = pred.predict(X)
    closed = pred.classes_[pred.predict_ids(X)]
    assert np.array_equal(labels, np.where(score > UNKNOWN_THRESHOLD, UNKNOWN_ID, closed))
    assert summary["unknown_rate"] == pytest.approx((score[len(data.X_test) :] > UNKNOWN_THRESHOLD).mean())
    # named classes come back as names, and "unknown"
    pred.classes_ = np.array([f"digit{c}" for c in pred.classes_])
    named = pred.predict(X)
    assert np.array_equal(
        named, np.where(score > UNKNOWN_THRESHOLD, UNKNOWN_NAME, pred.classes_[pred.predict_ids(X)])
    )


def test_predict_marks_unknown_exactly_above_threshold_on_a_crafted_detector():
    """Both outcomes on one batch, independent of training: a scaled detector with spread scores."""
    from semisup.config import RunConfig
    from semisup.predictor import Predictor

    net = ova_net(seed=1)
    model = torch.nn.Sequential(torch.nn.Identity(), net)
    cfg = RunConfig.from_dict({"algorithm": "openmatch", "data": {"name": "moons"}})
    pred = Predictor(model, cfg, {"classes": ["0", "1", "2"], "input_shape": [4], "kind": "vector"})
    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    score = pred.predict_unknown_score(X)
    labels = pred.predict(X)
    assert 0 < (score > 0.5).sum() < 40
    assert np.all(labels[score > 0.5] == -1) and np.all(
        labels[score <= 0.5] == pred.predict_ids(X)[score <= 0.5]
    )


def test_cli_eval_reports_the_unknown_auroc(open_runs, capsys):
    import json

    from semisup.cli import main

    out, summary, data = open_runs["openmatch"]
    assert main(["eval", str(out)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["n_test_unknown"] == len(data.X_test_unknown)
    assert shown["unknown_auroc"] == pytest.approx(summary["unknown_auroc"], abs=1e-6)
    assert shown["test_accuracy"] == pytest.approx(summary["closed_set_accuracy"])
