"""Tables as a kind: CSV reading (categories, missing cells, labels), TableEncoder, SCARF views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semisup.config import AugmentConfig
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.files import _encode_labels, load_csv, load_npz
from semisup.data.table_views import TableView, column_marginals, scarf_mask
from semisup.data.views import make_views
from semisup.nets.build import default_net_name, encoded_shape, input_encoder
from semisup.nets.table import TableEncoder

NAN = float("nan")


def write(tmp_path, text: str, name: str = "t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- reading a CSV -------------------------------------------------------------------------------
def test_csv_is_a_table_with_categories_and_missing_cells(tmp_path):
    path = write(
        tmp_path,
        "a,color,b,label\n1.5,red,2,x\n,blue,NA,y\n3,,4,x\n4,red,nan,\n5,N/A,6,y\n",
    )
    d = load_csv(path).validate()
    assert d.kind == "table" and d.columns == ["a", "color", "b"]
    assert d.categories == {"color": ["blue", "red"]}
    np.testing.assert_array_equal(d.X[:, 0], [1.5, NAN, 3, 4, 5])
    np.testing.assert_array_equal(d.X[:, 1], [1, 0, NAN, 1, NAN])  # codes in sorted order, NaN = missing
    np.testing.assert_array_equal(d.X[:, 2], [2, NAN, 4, NAN, 6])
    assert d.classes == ["x", "y"] and d.y.tolist() == [0, 1, 0, -1, 1]


def test_inf_is_still_refused_in_a_table_and_nan_outside_tables(tmp_path):
    with pytest.raises(DataError, match=r"1 rows hold inf \(first rows: \[1\]\)"):
        load_csv(write(tmp_path, "a,label\n1,0\ninf,1\n3,1\n")).validate()
    X = np.array([[0.0, NAN], [1.0, 2.0]], dtype=np.float32)
    with pytest.raises(DataError, match="rows hold NaN or inf"):
        SSLDataset(X=X, y=np.array([0, 1]), classes=["a", "b"], kind="vector").validate()
    SSLDataset(X=X, y=np.array([0, 1]), classes=["a", "b"], kind="table").validate()


def test_warns_on_identifier_and_mostly_numeric_text_columns(tmp_path):
    rows = "\n".join(f"id{i},{i if i != 7 else 'oops'},{i % 2}" for i in range(300))
    with pytest.warns(UserWarning) as record:
        d = load_csv(write(tmp_path, "id,num,label\n" + rows + "\n"))
    text = " ".join(str(w.message) for w in record)
    assert (
        "'id' has 300 distinct values" in text and "'num' is read as categorical" in text and "oops" in text
    )
    assert len(d.categories["id"]) == 300


def test_repeated_column_names_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"must be unique.*\['a'\]"):
        load_csv(write(tmp_path, "a,a,label\n1,2,0\n3,4,1\n"))


@pytest.mark.parametrize(
    "labels, classes, ids",
    [
        (["1", "2", "3", "", "2"], ["1", "2", "3"], [0, 1, 2, -1, 1]),  # 1..K: no phantom class 0
        (["10", "9", "-1", "10.0"], ["9", "10"], [1, 0, -1, 1]),  # numeric order, "10.0" is "10"
        (["0", "2", "2"], ["0", "2"], [0, 1, 1]),  # only the labels that occur
        (["spam", "ham", ""], ["ham", "spam"], [1, 0, -1]),
        (["-1.0", "1", "2"], ["1", "2"], [-1, 0, 1]),  # "-1.0" is unlabeled too
    ],
)
def test_label_encoding(labels, classes, ids):
    (y,), names = _encode_labels(np.array(labels))
    assert names == classes and y.tolist() == ids


def test_labels_onto_given_classes_and_npz_integer_ids_keep_their_meaning(tmp_path):
    (y,), names = _encode_labels(np.array(["3", "1"]), classes=["1", "2", "3"])
    assert names == ["1", "2", "3"] and y.tolist() == [2, 0]
    with pytest.raises(DataError, match=r"labels \['4'\] are not among"):
        _encode_labels(np.array(["4"]), classes=["1", "2", "3"])
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2)), y=np.array([0, 9, 3, -1]))
    assert load_npz(tmp_path / "d.npz").classes == [str(i) for i in range(10)]


def test_csv_labels_1_to_k_load_as_k_classes(tmp_path):
    d = load_csv(write(tmp_path, "a,label\n1,1\n2,2\n3,3\n4,\n")).validate()
    assert d.classes == ["1", "2", "3"] and d.y.tolist() == [0, 1, 2, -1] and d.num_classes == 3


# ---- TableEncoder --------------------------------------------------------------------------------
def table() -> torch.Tensor:
    # col 0 numeric with a missing cell, col 1 categorical (3 codes), col 2 numeric complete
    return torch.tensor([[1.0, 0.0, 10.0], [NAN, 2.0, 20.0], [3.0, 1.0, 30.0], [8.0, NAN, 40.0]])


def test_encoder_imputes_scales_indicates_and_one_hots():
    X = table()
    enc = TableEncoder.from_data(X, categorical={1: 3})
    assert enc.out_dim == 2 + 1 + 3 and encoded_shape(enc, (3,)) == (6,)
    out = enc(X)
    obs = torch.tensor([1.0, 3.0, 8.0])
    z0 = (torch.tensor([1.0, 3.0, 3.0, 8.0]) - obs.mean()) / obs.std()  # NaN -> median 3
    torch.testing.assert_close(out[:, 0], z0)
    c2 = torch.tensor([10.0, 20.0, 30.0, 40.0])
    torch.testing.assert_close(out[:, 1], (c2 - c2.mean()) / c2.std())
    assert out[:, 2].tolist() == [0, 1, 0, 0]  # missing indicator of column 0 only
    assert out[:, 3:].tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0]]  # missing code: zeros
    odd = torch.tensor([[1.0, 7.0, 10.0], [1.0, 0.5, 10.0], [1.0, -1.0, 10.0]])
    assert enc(odd)[:, 3:].abs().sum() == 0  # unknown, fractional, negative codes: all zeros


def test_encoder_rebuilds_from_its_state_alone():
    enc = TableEncoder.from_data(table(), categorical={1: 3})
    state = {"0." + k: v for k, v in enc.state_dict().items()}
    again = TableEncoder.from_state(state, "0.")
    torch.testing.assert_close(again(table()), enc(table()))
    assert isinstance(input_encoder(table(), "table", {1: 3}), TableEncoder)
    with pytest.raises(ValueError, match="no table encoder"):
        TableEncoder.from_state({}, "0.")


def test_encoder_constant_and_empty_columns_give_finite_features():
    X = torch.tensor([[5.0, NAN], [5.0, NAN], [5.0, NAN]])
    out = TableEncoder.from_data(X)(X)
    assert torch.isfinite(out).all() and out[:, 0].abs().sum() == 0


def test_default_net_for_tables():
    assert default_net_name("table") == "table_mlp"


@pytest.mark.parametrize(
    ("kind", "given", "expected"), [("table", None, 0.05), ("table", 1e-3, 1e-3), ("vector", None, 5e-4)]
)
def test_tables_default_to_strong_weight_decay_unless_set(kind, given, expected):
    from semisup.config import RunConfig
    from semisup.engine.defaults import resolve_defaults

    X = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = np.r_[[0, 1, 0, 1], np.full(16, -1)]
    data = SSLDataset(X=X, y=y, classes=["a", "b"], kind=kind, name="t")
    cfg = RunConfig.from_dict({} if given is None else {"optim": {"weight_decay": given}})
    assert resolve_defaults(cfg, data).optim.weight_decay == expected
    # resolved once: the saved config names the value, and reloading it keeps it for any kind
    again = RunConfig.from_dict(cfg.to_dict())
    assert (
        resolve_defaults(again, SSLDataset(X=X, y=y, classes=["a", "b"], name="t")).optim.weight_decay
        == expected
    )


# ---- SCARF views ---------------------------------------------------------------------------------
def train_rows(n: int = 400, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g) * torch.tensor([1.0, 5.0, 0.1, 2.0, 1.0, 1.0])
    X[:, 4] = torch.randint(0, 4, (n,), generator=g).float()  # a categorical column (codes 0..3)
    X[::5, 0] = NAN
    return X


@pytest.mark.parametrize("mask_prob", [0.2, 0.5])
def test_scarf_corrupts_the_configured_share_with_training_values(mask_prob):
    X = train_rows()
    torch.manual_seed(0)
    mask = scarf_mask(1000, 6, mask_prob)
    assert (mask.sum(1) == round(mask_prob * 6)).all()  # exactly round(p * D) per row, as in SCARF
    view = TableView(AugmentConfig(mask_prob=mask_prob), X, categorical=[4], strong=True)
    batch = torch.full((2000, 6), 123.0)  # a value found in no column: every change is a corruption
    out = view(batch)
    changed = out != batch
    assert abs(changed.float().mean().item() - round(mask_prob * 6) / 6) < 1e-6
    for j in range(6):
        observed = set(X[~torch.isnan(X[:, j]), j].tolist())
        assert set(out[changed[:, j], j].tolist()) <= observed  # from the training marginal, never NaN
    assert set(out[:, 4].tolist()) <= {0.0, 1.0, 2.0, 3.0, 123.0}


def test_scarf_draws_follow_the_training_marginal_not_the_batch():
    X = train_rows(2000)
    view = TableView(AugmentConfig(mask_prob=1.0), X, categorical=[4], strong=True)
    torch.manual_seed(1)
    out = view(X[:1].repeat(4000, 1))  # a batch of one repeated row
    torch.testing.assert_close(out[:, 1].std(), X[:, 1].std(), rtol=0.08, atol=0)
    counts = torch.bincount(out[:, 4].long(), minlength=4).float() / 4000
    expected = torch.bincount(X[:, 4].long(), minlength=4).float() / 2000
    torch.testing.assert_close(counts, expected, atol=0.03, rtol=0)


def test_weak_view_noise_is_numeric_only_and_keeps_missing_cells():
    X = train_rows()
    view = make_views("table", AugmentConfig(noise_std=0.1), train_X=X, categorical=[4])["weak"]
    torch.manual_seed(0)
    rows = X[:50].repeat(40, 1)
    out = view(rows)
    assert torch.equal(out[:, 4], rows[:, 4])  # codes untouched
    assert torch.equal(torch.isnan(out), torch.isnan(rows))
    diff = (out - rows)[:, 1]
    torch.testing.assert_close(diff.std(), 0.1 * X[:, 1].std(), rtol=0.1, atol=0)


def test_views_are_seeded_and_keep_shape_and_nan_rows_are_handled():
    X = train_rows()
    views = make_views("table", AugmentConfig(mask_prob=0.5), train_X=X, categorical=[4])
    rows = X[:32]
    torch.manual_seed(3)
    a = views["strong"](rows)
    torch.manual_seed(3)
    b = views["strong"](rows)
    torch.manual_seed(4)
    c = views["strong"](rows)
    assert torch.equal(a.nan_to_num(-9), b.nan_to_num(-9)) and not torch.equal(
        a.nan_to_num(-9), c.nan_to_num(-9)
    )
    assert a.shape == rows.shape and (torch.isnan(a) <= torch.isnan(rows)).all()  # never adds missing cells
    enc = TableEncoder.from_data(X, {4: 4})
    assert torch.isfinite(enc(a)).all() and torch.isfinite(enc(views["weak"](rows))).all()
    with pytest.raises(ValueError, match="training rows"):
        make_views("table", AugmentConfig())


def test_marginals_pack_each_columns_observed_values():
    X = torch.tensor([[1.0, NAN], [NAN, NAN], [3.0, 7.0]])
    values, counts = column_marginals(X)
    assert counts.tolist() == [2, 1] and values[:2, 0].tolist() == [1.0, 3.0] and values[0, 1] == 7.0
    assert not torch.isnan(values).any()


@pytest.mark.parametrize("strong", [False, True])
def test_table_views_and_encoder_trace_as_one_graph(strong):
    """fullgraph=True fails on a host sync or a data-dependent shape: the views can be compiled on GPU."""
    X = train_rows()
    view = TableView(AugmentConfig(mask_prob=0.5), X, categorical=[4], strong=strong)
    compiled = torch.compile(view.__call__, fullgraph=True, backend="eager")
    torch.manual_seed(0)
    a = compiled(X[:8])
    torch.manual_seed(0)
    assert torch.equal(a.nan_to_num(-9), view(X[:8]).nan_to_num(-9))
    enc = TableEncoder.from_data(X, {4: 4})
    torch.testing.assert_close(torch.compile(enc, fullgraph=True, backend="eager")(a), enc(a))
