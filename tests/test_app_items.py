"""Items of every kind of input, the fast model, the queue order and the shortcut keys."""

from __future__ import annotations

import time

import numpy as np
import pytest
from app_support import CLASSES, digits_subset, make_image_folder, make_image_npz

from semisup.app import Suggester, fit_proba, load_items, queue_order, shortcut_keys
from semisup.app.model import GraphSpreader, informativeness
from semisup.data.dataset import DataError


def test_arrays_builtins_and_tables(tmp_path):
    image_npz = make_image_npz(tmp_path)
    items = load_items(str(image_npz))
    X, _ = digits_subset()
    assert (items.kind, items.classes, len(items), items.ids[:3]) == ("image", CLASSES, 30, ["0", "1", "2"])
    np.testing.assert_allclose(items.features, X.reshape(30, 64) / 255.0, atol=1e-6)
    assert items.payload(4) == {"id": "4", "kind": "image", "image_url": "/api/image?id=4"}

    moons = load_items("moons")  # built-in labels are hidden: everything is to label
    assert (moons.kind, moons.classes, len(moons)) == ("table", ["upper", "lower"], 1000)
    assert (moons.seed_labels == -1).all() and moons.columns == ["x0", "x1"]

    csv = tmp_path / "t.csv"
    csv.write_text("height,label,weight\n1.5,small,3\n2.5,,4\n9,big,7.25\n")
    table = load_items(str(csv))
    assert (table.classes, table.seed_labels.tolist()) == (["big", "small"], [1, -1, 0])
    assert table.payload(2)["features"] == [["height", 9.0], ["weight", 7.25]]
    with pytest.raises(DataError, match=r"labels \['small'\] that are not among --classes"):
        load_items(str(csv), classes=["big", "tiny"])
    assert load_items(str(csv), classes=["big", "small", "medium"]).seed_labels.tolist() == [1, -1, 0]


def test_image_folders(tmp_path):
    image_folder = make_image_folder(tmp_path)
    items = load_items(str(image_folder))
    assert items.classes == ["one", "zero"]  # class folders, sorted; unlabeled/ holds the rest
    assert items.ids[:3] == ["one/img1_1.png", "zero/img0_0.png", "unlabeled/img2_2.png"]
    assert items.seed_labels.tolist() == [0, 1] + [-1] * 6
    assert items.features.shape == (8, 32 * 32) and items.features.max() <= 1.0
    assert items.payload(2)["image_url"] == "/files/unlabeled/img2_2.png"
    assert items.file_of("unlabeled/img2_2.png") == image_folder.resolve() / "unlabeled/img2_2.png"
    assert items.file_of("../secret.txt") is None
    flat = image_folder / "unlabeled"  # a plain folder of images: classes come from --classes
    with pytest.raises(DataError, match="pass --classes"):
        load_items(str(flat))
    got = load_items(str(flat), classes=["a", "b"])
    assert got.ids == [f"img{k}_{k % 3}.png" for k in range(2, 8)] and (got.seed_labels == -1).all()


def test_text_csv(tmp_path):
    import csv

    path = tmp_path / "reviews.csv"
    texts = ["great movie", "awful plot", "great acting", "awful, boring", "loved it", "boring plot"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label"])
        w.writerows(
            [f"r{i}", t, y]
            for i, (t, y) in enumerate(zip(texts, ["pos", "neg", "", "", "", ""], strict=True))
        )
    items = load_items(str(path), text_column="text", id_column="id")
    assert (items.kind, items.classes, items.ids[0]) == ("text", ["neg", "pos"], "r0")
    assert items.seed_labels.tolist() == [1, 0, -1, -1, -1, -1]
    np.testing.assert_allclose(np.linalg.norm(items.features, axis=1), 1.0, rtol=1e-5)
    assert items.payload(3) == {"id": "r3", "kind": "text", "text": "awful, boring"}
    with pytest.raises(DataError, match="no column 'body'"):
        load_items(str(path), text_column="body")


def test_fit_proba_spreads_few_labels(tmp_path):
    X, y = digits_subset(per_class=40)
    feats = X.reshape(len(X), -1).astype(np.float32)
    partial = np.full(len(y), -1)
    partial[:6] = y[:6]  # two labels per class (items alternate 0, 1, 2)
    for model in ("spreading", "self_training"):
        p = fit_proba(feats, partial, 4, model)  # a 4th class never labeled: probability 0
        assert p.shape == (120, 4) and np.allclose(p.sum(axis=1), 1) and (p[:, 3] == 0).all()
        assert (p.argmax(axis=1) == y).mean() > 0.95, model  # measured: 0.958 and 0.992


def test_cached_graph_spreading_equals_label_spreading():
    X, y = digits_subset(per_class=40)
    feats = X.reshape(len(X), -1).astype(np.float32)
    spreader = GraphSpreader(feats)
    for n_labels in (3, 6, 30):  # refits on the same graph, as the app does
        partial = np.full(len(y), -1)
        partial[:n_labels] = y[:n_labels]
        np.testing.assert_allclose(spreader.proba(partial, 4), fit_proba(feats, partial, 4), atol=1e-12)


def test_queue_order_and_informativeness():
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4], [0.5, 0.5]])
    np.testing.assert_allclose(informativeness(proba), [0.2, 1.0, 0.8, 1.0])
    order = queue_order(proba, 4, seed=0)
    assert set(order[:2]) == {1, 3} and order[2:].tolist() == [2, 0]
    assert sorted(queue_order(None, 5, seed=3).tolist()) == list(range(5))
    np.testing.assert_array_equal(queue_order(None, 5, seed=3), queue_order(None, 5, seed=3))
    emb = np.array([[0.0], [1.0], [5.0], [9.0]])
    coreset = queue_order(proba, 4, "coreset", embeddings=emb, labeled_mask=np.array([1, 0, 0, 0], bool))
    assert coreset.tolist()[0] == 3  # farthest from the labeled item


def test_suggester_refits_after_every_k_labels(tmp_path):
    image_npz = make_image_npz(tmp_path)
    items = load_items(str(image_npz))
    _, y = digits_subset()
    human = np.full(30, -1)
    s = Suggester(items, lambda: human, every=2)
    assert s.fit_now().version == 0  # no labels: no model
    human[:3] = y[:3]
    s.start()  # fits at once: labels of three classes are there
    wait_for(lambda: s.state.version == 1)
    s.notify()
    assert s.state.version == 1 and not s.training  # 1 of every=2 new labels: no refit yet
    human[3] = y[3]
    s.notify()
    wait_for(lambda: s.state.version == 2)
    s.stop()
    assert (s.state.n_labels, s.state.proba.shape, s.state.error) == (4, (30, 3), None)
    with pytest.raises(ValueError, match="every must be >= 1"):
        Suggester(items, lambda: human, every=0)


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_shortcut_keys():
    assert shortcut_keys([str(d) for d in range(10)]) == [str(d) for d in range(10)]
    assert shortcut_keys(["a", "b"]) == ["a", "b"]
    assert shortcut_keys(["s", "t"]) == ["1", "2"]  # "s" is skip
    keys = shortcut_keys([f"class{k}" for k in range(40)])
    assert keys[:10] == [*"123456789", "a"] and "s" not in keys and "u" not in keys
    assert keys[32] == "z" and keys[33:] == [None] * 7
