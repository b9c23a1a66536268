"""Balanced accuracy and per-class recall against scikit-learn."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, recall_score

from semisup.engine.evaluate import balanced_accuracy, class_recall, evaluate


def test_matches_sklearn_on_random_long_tailed_labels():
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = rng.choice(5, size=200, p=[0.5, 0.25, 0.15, 0.07, 0.03])
        pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 5, 200))
        got = balanced_accuracy(torch.as_tensor(pred), torch.as_tensor(y), 5)
        assert np.isclose(got, balanced_accuracy_score(y, pred))
        recall = class_recall(torch.as_tensor(pred), torch.as_tensor(y), 5).numpy()
        assert np.allclose(recall, recall_score(y, pred, average=None, labels=range(5)))


def test_a_class_absent_from_the_labels_is_left_out():
    y, pred = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 2, 2])  # class 2 never true
    recall = class_recall(pred, y, 3)
    assert torch.allclose(recall[:2], torch.tensor([2 / 3, 0.0])) and torch.isnan(recall[2])
    assert np.isclose(balanced_accuracy(pred, y, 3), 1 / 3)


def test_evaluate_reports_balanced_accuracy():
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    X = torch.tensor([[1.0, 0.0]] * 8 + [[0.0, 1.0], [1.0, 0.0]])  # 8 of class 0 right, 1 of 2 of class 1
    y = torch.tensor([0] * 8 + [1, 1])
    m = evaluate(model, X, y)
    assert np.isclose(m["acc"], 0.9) and np.isclose(m["balanced_acc"], 0.75)
