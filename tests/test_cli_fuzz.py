"""Property-based check (issue 13): random ``--set KEY=VALUE`` overrides through the CLI parser and the
config either build a config whose every value has its declared type and range, or stop with exit code
2 and one line naming the key; never a traceback, never a silently wrong value."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import types
import typing
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semisup.cli import _train_dict, build_parser, main
from semisup.config import ConfigError, RunConfig, check_ranges
from semisup.registry import ALGORITHMS, NETS, UnknownNameError


def _fields(cls: type, prefix: str) -> list[str]:
    return [prefix + f.name for f in dataclasses.fields(cls) if f.name not in ("algorithm_args", "net_args")]


_SECTIONS = {f.name: f.type for f in dataclasses.fields(RunConfig)}
VALID_KEYS = sorted(
    {
        key
        for name in ("data", "augment", "optim", "train", "fabric")
        for key in _fields(typing.get_type_hints(RunConfig)[name], f"{name}.")
    }
    | set(_SECTIONS)  # whole sections (data=5), and the internal algorithm_args/net_args
    | {"algorithm.name", "net.name"}
    | {
        f"algorithm.{k}"
        for a in ("fixmatch", "uda", "mixmatch", "distill")
        for k in _fields(ALGORITHMS.get(a).Config, "")
    }
    | {f"net.{k}" for n in ("mlp", "cnn", "wrn28_2") for k in _fields(NETS.get(n).Config, "")}
)

keys = st.one_of(
    st.sampled_from(VALID_KEYS),
    st.builds(lambda k, s: k + s, st.sampled_from(VALID_KEYS), st.sampled_from(["z", ".x", "..", " ", "_"])),
    st.builds(lambda a, b: f"{a}.{b.split('.')[-1]}", st.sampled_from(["data", "train", "optim", "fabric"]),
              st.sampled_from(VALID_KEYS)),  # a real name in the wrong section
    st.text(alphabet="abcdefghistz_.", max_size=12),
)  # fmt: skip
scalars = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "null", "~", "yes", "nan", ".inf", "-.inf", "1e-3", "1_000", "0x10"]),
    st.sampled_from(["fixmatch", "mlp", "cnn", "sgd", "adamw", "cosine", "image", "cpu", "auto", "32-true"]),
    st.text(alphabet="abc019.-_ ", max_size=8),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.builds(lambda k, v: "{" + f"{k}: {v}" + "}", st.sampled_from(["a", "name", "steps"]), scalars),
    st.sampled_from(["[", "]", "{", ": :", "!!python/object:os.system", "'unclosed", "[1, [2]]", ""]),
)


def _check_types(obj: Any, cls: type, where: str) -> None:
    """Every field of dataclass ``obj`` holds a value of its declared type (finite floats)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        _check_value(getattr(obj, f.name), hints[f.name], f"{where}{f.name}")


def _check_value(value: Any, tp: Any, key: str) -> None:
    origin = typing.get_origin(tp)
    if tp is Any:
        return
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            assert type(None) in typing.get_args(tp), key
            return
        assert len(args) == 1, key
        return _check_value(value, args[0], key)
    if dataclasses.is_dataclass(tp):
        return _check_types(value, tp, key + ".")
    if origin in (list, tuple):
        assert isinstance(value, origin), (key, value)
        inner = typing.get_args(tp)
        for i, v in enumerate(value):
            _check_value(
                v, inner[0] if len(inner) == 2 and inner[1] is Ellipsis or origin is list else inner[i], key
            )
        return
    if tp is float:
        assert type(value) is float and math.isfinite(value), (key, value)
        return
    assert type(value) is tp, (key, value, tp)


def _names_the_key(message: str, key: str) -> bool:
    parts = key.strip().split(".")
    return any(".".join(parts[:i]) in message for i in range(1, len(parts) + 1))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(keys, values), min_size=1, max_size=3))
def test_random_overrides_build_a_valid_config_or_name_the_key(pairs):
    argv = ["train", "--data", "moons"]
    for k, v in pairs:
        argv += ["--set", f"{k}={v}"]
    try:
        cfg = RunConfig.from_dict(_train_dict(build_parser().parse_args(argv)))
    except (ConfigError, UnknownNameError) as e:
        message = str(e)
        assert "\n" not in message and message, message
        assert any(_names_the_key(message, k) for k, _ in pairs), (pairs, message)
        return
    _check_types(cfg, RunConfig, "")
    _check_types(cfg.algorithm_args, ALGORITHMS.get(cfg.algorithm).Config, "algorithm.")
    if cfg.net not in ("auto", "custom"):
        _check_types(cfg.net_args, NETS.get(cfg.net).Config, "net.")
    check_ranges(cfg)  # already passed inside from_dict: the built config is in range


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(keys, values), min_size=1, max_size=2))
def test_random_overrides_through_main_exit_0_or_2_with_one_line(tmp_path_factory, pairs):
    """The whole command: the config reaches training (stubbed here) or main returns 2 with one line."""
    argv = ["train", "--data", "moons", "--out", str(tmp_path_factory.mktemp("fuzz") / "r")]
    for k, v in pairs:
        argv += ["--set", f"{k}={v}"]
    trained: list[RunConfig] = []
    result = mock.Mock(summary=None, run_dir=None)
    err = io.StringIO()
    with (
        mock.patch("semisup.run.fit", side_effect=lambda cfg, out: trained.append(cfg) or result),
        mock.patch("semisup.auto.auto_fit", return_value=result) as auto_fit,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = main(argv)
    if code == 2:
        line = err.getvalue().strip()
        assert line.startswith("error: ") and "\n" not in line and not trained, line
    else:
        assert code == 0 and len(trained) + auto_fit.call_count == 1
