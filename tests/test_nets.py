"""Contract tests for every registered net, plus Standardize and check_user_net."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from semisup.nets import (
    CNN,
    MLP,
    CNN1d,
    ResNet1d,
    Standardize,
    WideResNet,
    build_net,
    check_user_net,
    with_standardize,
)
from semisup.nets.build import default_net_name
from semisup.nets.table_mlp import TableMLP
from semisup.registry import NETS, UnknownNameError

# Per registered net: an input shape and a small config with dropout (a new net must add itself here).
CASES = {
    "mlp": ((64,), MLP.Config(hidden=(32, 16), dropout=0.2)),
    "cnn": ((1, 8, 8), CNN.Config(width=8, dropout=0.2)),
    "wrn28_2": ((3, 16, 16), WideResNet.Config(depth=10, widen_factor=1, dropout=0.2)),
    "cnn1d": ((2, 40), CNN1d.Config(width=8, dropout=0.2, max_length=16)),
    "resnet1d": ((3, 20), ResNet1d.Config(width=4, dropout=0.2)),
    "table_mlp": ((12,), TableMLP.Config(hidden=(32, 16), dropout=0.2)),
}


def test_every_net_has_a_case() -> None:
    assert set(NETS.names()) == set(CASES)


@pytest.mark.parametrize("default", [False, True], ids=["small", "default"])
@pytest.mark.parametrize("name", NETS.names())
def test_contract(name: str, default: bool) -> None:
    torch.manual_seed(0)
    shape, cfg = CASES[name]
    net = build_net(name, shape, 5, None if default else cfg)
    x = torch.randn(4, *shape)
    net.train()
    logits = net(x)
    assert logits.shape == (4, 5) and torch.isfinite(logits).all()
    logits.sum().backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, f"{name}: {pname} gradient is zero"
    assert net.features(x).shape == (4, net.feature_dim)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)


def test_config_type_names_and_defaults() -> None:
    with pytest.raises(TypeError, match="CNN.Config"):
        build_net("cnn", (1, 8, 8), 10, MLP.Config())
    with pytest.raises(UnknownNameError, match="'cnn'"):
        build_net("cnnn", (1, 8, 8), 10)
    assert default_net_name("image") == "cnn" and default_net_name("vector") == "mlp"
    assert default_net_name("signal") == "cnn1d" and default_net_name("text") == "mlp"
    with pytest.raises(ValueError, match="kind"):
        default_net_name("audio")


def test_wrn28_2_parameter_count_and_mnist_shape() -> None:
    net = build_net("wrn28_2", (3, 32, 32), 10)
    n = sum(p.numel() for p in net.parameters())
    assert abs(n - 1.47e6) / 1.47e6 < 0.02, n  # FixMatch's WRN-28-2: 1,467,610
    assert net.feature_dim == 128
    net = build_net("wrn28_2", (1, 28, 28), 10).eval()
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="6n \\+ 4"):
        WideResNet((3, 32, 32), 10, WideResNet.Config(depth=27))


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_cnn_image_sizes(shape: tuple[int, ...]) -> None:
    net = CNN(shape, 10, CNN.Config(width=4)).eval()
    assert net(torch.randn(2, *shape)).shape == (2, 10)


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("mlp", (1, 8, 8), "'cnn' or 'wrn28_2'"),
        ("mlp", (0,), r"\(D,\)"),
        ("cnn", (1, 7, 7), "at least 8x8"),
        ("cnn", (64,), "'mlp'"),
        ("cnn", (8, 8), r"\(C, H, W\)"),
        ("wrn28_2", (2, 3, 32, 32), r"\(C, H, W\)"),
        ("cnn1d", (1, 8, 8), "'cnn' for images"),
        ("cnn1d", (64,), "'mlp'"),
        ("resnet1d", (0, 64), r"\(C, L\)"),
    ],
)
def test_wrong_shapes_fail_clearly(name: str, shape: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_net(name, shape, 10)


@pytest.mark.parametrize("name", ["cnn", "wrn28_2"])
def test_channels_last_matches_contiguous(name: str) -> None:
    torch.manual_seed(0)
    shape, cfg = CASES[name]
    net = build_net(name, shape, 5, cfg).eval()
    x = torch.randn(3, *shape)
    with torch.no_grad():
        expected = net(x)
        got = net(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("length", [1, 5, 24, 150, 1500])
@pytest.mark.parametrize("name", ["cnn1d", "resnet1d"])
def test_signal_nets_any_length(name: str, length: int) -> None:
    cfg = CNN1d.Config(width=4) if name == "cnn1d" else ResNet1d.Config(width=2)
    net = build_net(name, (3, length), 4, cfg).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, length)).shape == (2, 4)


def test_cnn1d_pools_long_series_to_max_length() -> None:
    pools = [m for m in CNN1d((1, 1500), 2).body if isinstance(m, nn.AvgPool1d)]
    assert len(pools) == 1 and pools[0].kernel_size == (12,)  # ceil(1500 / 128): 125 steps
    assert not any(isinstance(m, nn.AvgPool1d) for m in CNN1d((1, 128), 2).body)
    unpooled = CNN1d((1, 1500), 2, CNN1d.Config(max_length=None))
    assert not any(isinstance(m, nn.AvgPool1d) for m in unpooled.body)
    with pytest.raises(ValueError, match="kernel_size"):
        CNN1d((1, 64), 2, CNN1d.Config(kernel_size=4))


def test_resnet1d_is_wang_et_al() -> None:
    net = ResNet1d((1, 50), 2)  # the paper's widths 64, 128, 128 and kernels 8, 5, 3
    convs = [m for m in net.modules() if isinstance(m, nn.Conv1d)]
    assert [m.kernel_size[0] for m in convs if m.kernel_size[0] > 1] == [8, 5, 3] * 3
    assert [m.out_channels for m in convs if m.kernel_size[0] == 8] == [64, 128, 128]
    assert net.feature_dim == 128 and net.classifier.in_features == 128
    x = torch.arange(50.0).view(1, 1, 50)  # "same" padding keeps the length, also for the even kernel
    assert net.body[0].body[:2](x).shape == (1, 64, 50)


def test_standardize_signal_statistics() -> None:
    scale, shift = torch.tensor([1.0, 4.0]).view(1, 2, 1), torch.tensor([0.0, -3.0]).view(1, 2, 1)
    X = torch.randn(30, 2, 40) * scale + shift
    s = Standardize.from_data(X, "signal")
    assert s.mean.shape == s.std.shape == (1, 2, 1)
    torch.testing.assert_close(s.std.flatten(), torch.stack([X[:, c].std() for c in range(2)]))
    torch.testing.assert_close(s(X).mean((0, 2)), torch.zeros(2), rtol=0, atol=1e-5)


def test_standardize_image_and_vector_statistics() -> None:
    X = torch.randn(50, 3, 4, 4) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 5
    s = Standardize.from_data(X, "image")
    assert s.mean.shape == s.std.shape == (1, 3, 1, 1)
    assert torch.equal(s.mean.flatten(), X.mean(dim=(0, 2, 3)))
    assert torch.equal(s.std.flatten(), X.std(dim=(0, 2, 3)))
    # a naive per-channel loop agrees up to float32 reduction order
    torch.testing.assert_close(s.std.flatten(), torch.stack([X[:, c].std() for c in range(3)]))
    V = torch.randn(40, 6) * 3 - 1
    v = Standardize.from_data(V, "vector")
    assert v.mean.shape == v.std.shape == (1, 6)
    assert torch.equal(v.mean.flatten(), V.mean(0)) and torch.equal(v.std.flatten(), V.std(0))
    torch.testing.assert_close(v(V).mean(0), torch.zeros(6), rtol=0, atol=1e-6)
    torch.testing.assert_close(v(V).std(0), torch.ones(6))


def test_standardize_constant_feature_and_errors() -> None:
    V = torch.cat([torch.randn(10, 2), torch.full((10, 1), 7.0)], dim=1)
    out = Standardize.from_data(V, "vector")(V)
    assert torch.isfinite(out).all() and torch.equal(out[:, 2], torch.zeros(10))
    with pytest.raises(ValueError, match="kind"):
        Standardize.from_data(V, "audio")
    with pytest.raises(ValueError, match="4-D"):
        Standardize.from_data(V, "image")


def test_with_standardize_state_dict_round_trip() -> None:
    X, cfg = torch.rand(20, 1, 8, 8) * 16, CNN.Config(width=4)
    model = with_standardize(CNN((1, 8, 8), 10, cfg), X, "image").eval()
    fresh = nn.Sequential(Standardize.identity((1, 8, 8), "image"), CNN((1, 8, 8), 10, cfg)).eval()
    fresh.load_state_dict(model.state_dict())  # a saved model reloads without the data
    with torch.no_grad():
        torch.testing.assert_close(fresh(X), model(X))


def test_check_user_net() -> None:
    good = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)).train()
    check_user_net(good, (3, 4), 3)
    assert all(m.training for m in good.modules())  # mode restored
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        check_user_net(nn.Sequential(nn.Flatten(), nn.Linear(12, 4)), (3, 4), 3)
    with pytest.raises(ValueError, match="failed on a dummy batch"):
        check_user_net(nn.Linear(5, 3), (3, 4), 3)
    with pytest.raises(ValueError, match="non-finite"):
        check_user_net(_NaNNet(), (3, 4), 3)


class _NaNNet(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 3), float("nan"))
