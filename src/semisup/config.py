"""Typed run configuration: dataclasses, strict dict/YAML conversion and ``key=value`` overrides.

Unknown keys are errors (with the closest valid names), so a typo never silently falls back to a
default. The resolved config is written into every run folder and every checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from semisup.registry import closest


class ConfigError(ValueError):
    """A config key or value is wrong; the message names it and how to fix it."""


@dataclass
class ImbalanceConfig:
    """A long-tailed split (``semisup.data.imbalance``, DARP's protocol): class k keeps
    floor(N_1 · γ_l^(−k/(C−1))) labels, N_1 = ``data.labels_per_class``; the unlabeled pool follows
    γ_u in the same order (consistent), in reverse (reversed), or holds M_1 of every class (uniform)."""

    labeled_ratio: float = 10.0  # γ_l = N_1 / N_C, >= 1
    unlabeled_ratio: float | None = None  # γ_u >= 1; None: γ_l (consistent, reversed), 1 (uniform)
    unlabeled: str = "consistent"  # consistent | uniform | reversed
    unlabeled_head: int | None = None  # M_1, unlabeled examples of the pool's head; None: the most that fit

    def __post_init__(self) -> None:
        if self.unlabeled not in IMBALANCE_DISTRIBUTIONS:
            allowed = ", ".join(IMBALANCE_DISTRIBUTIONS)
            raise ConfigError(
                f"data.imbalance.unlabeled={self.unlabeled!r} is not allowed: choose one of {allowed}"
            )


IMBALANCE_DISTRIBUTIONS = ("consistent", "uniform", "reversed")  # as semisup.data.imbalance.DISTRIBUTIONS


@dataclass
class DataConfig:
    """Which data, how many labels, and the batch shape.

    ``name`` is a built-in data set (``semisup list``) or a path to a ``.npz``, ``.csv`` or image
    folder. ``labels_per_class`` keeps that many labels per class (stratified, seeded); ``None``
    keeps the labels the data already has (``-1`` = unlabeled).
    """

    name: str = "digits"
    labels_per_class: int | None = 4
    label_fraction: float | None = None
    split_seed: int | None = None  # None: the run's seed
    label_column: str = "label"  # for .csv input
    # Image folders: resize every image to (H, W) (bilinear), e.g. when their sizes differ. None: keep
    # the size, which must then be the same for all.
    image_size: tuple[int, int] | None = None
    # The kind of input: image | signal | table | vector | text. None: inferred from the data (printed in
    # the run's first line, saved in config.yaml); set it where the shape is ambiguous, e.g. an (N, L)
    # array of series -> signal. It picks the views, the default net and the preprocessing.
    kind: str | None = None
    text_column: str | None = None  # .csv input: the column of texts, embedded once and cached (kind text)
    # An accuracy for files without a test split: test names a labeled file scored at each evaluation;
    # test_fraction holds out that stratified share of the labeled examples instead (seeded by split_seed).
    test: str | None = None
    test_fraction: float | None = None
    batch_size: int = 64  # labeled examples per step (B)
    mu: int | None = None  # unlabeled examples per labeled one (μ); None: the algorithm's paper value
    # FixMatch draws unlabeled batches from the whole training set, labeled examples included.
    unlabeled_includes_labeled: bool = True
    eval_batch_size: int = 1024
    # Class mismatch (semisup.data.mismatch): these class ids are never labeled; mismatch_fraction of
    # the unlabeled pool (mismatch_pool_size examples, None: the largest every fraction can fill) is
    # drawn from them. The model and the test split keep only the other classes.
    mismatch_classes: list[int] | None = None
    mismatch_fraction: float | None = None
    mismatch_pool_size: int | None = None
    # Long-tailed labels and pool (semisup.data.imbalance); None: the data's own class balance.
    imbalance: ImbalanceConfig | None = None


@dataclass
class AugmentConfig:
    """Strength of the weak and strong views (image and vector inputs)."""

    translate: float = 0.125  # max shift as a fraction of the image side (pad + crop)
    flip: bool = False  # horizontal flip; off by default (wrong for digits)
    strong_ops: int = 2  # RandAugment N: ops drawn per sample
    strong_magnitude: float | None = None  # RandAugment M in [0, 1]; None: random per sample
    cutout: float = 0.5  # cutout square side as a fraction of the image side (0: off)
    noise_std: float = 0.1  # vector weak view: Gaussian noise, in units of each feature's std
    mask_prob: float = 0.2  # vector strong view: fraction of features masked or swapped
    swap_prob: float = 0.5  # vector strong view: of the corrupted features, share swapped (rest zeroed)


@dataclass
class OptimConfig:
    """Optimizer and learning-rate schedule (FixMatch's defaults)."""

    name: str = "sgd"  # sgd (Nesterov momentum) | adamw
    lr: float = 0.03
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4  # not applied to biases and norm layers
    betas: tuple[float, float] = (0.9, 0.999)  # adamw
    schedule: str = "cosine"  # cosine (FixMatch: lr·cos(7πk/16K)) | constant
    warmup_steps: int = 0
    clip_grad_norm: float | None = None


@dataclass
class TrainConfig:
    """Length of training, evaluation, checkpoints and speed switches."""

    steps: int | None = None  # None: chosen from the data (semisup.engine.defaults: 1,000)
    eval_every: int | None = None  # None: a tenth of the steps
    log_every: int = 25
    checkpoint_every: int = 500
    ema_decay: float = 0.999  # 0 disables the EMA copy; evaluation then uses the raw weights
    progress: bool = True
    compile: bool = False  # torch.compile the network
    channels_last: bool = False  # memory format for image nets on GPU
    profile: bool = False  # time augmentation / forward+backward / update (synchronises: slower)
    init: str | None = None  # start from pretrained weights: a run folder, .pt or .safetensors file
    init_head_layers: int = 0  # keep this many projection-head layers of a SimCLR run (SimCLRv2: 1)
    # Before training, cross-validate SSL against supervised on the labeled data (semisup.check) and
    # warn when SSL is not ahead beyond noise; 2 * check_folds trainings of check_steps (None: <= 300).
    check_ssl: bool = False
    check_folds: int = 4
    check_steps: int | None = None
    plots: bool = False  # draw RUN_DIR/plots.png at the end (semisup.plots.plot_run; same as semisup plot)
    loggers: tuple[str, ...] = ("csv",)  # where metrics go: "csv" (metrics.csv), "tensorboard" (tensorboard/)


@dataclass
class FabricConfig:
    """Passed to ``lightning.fabric.Fabric``: devices, strategy and precision."""

    accelerator: str = "cpu"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    # BatchNorm statistics over every process's batch (torch's SyncBatchNorm: GPUs only); off, each
    # process normalises over its own batch.
    sync_batchnorm: bool = False


@dataclass
class RunConfig:
    """Everything a run needs. ``algorithm_args``/``net_args`` are the registered class's ``Config``."""

    algorithm: str = "fixmatch"
    algorithm_args: Any = None
    net: str = "auto"
    net_args: Any = None
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fabric: FabricConfig = field(default_factory=FabricConfig)
    seed: int = 0

    # ---- conversion -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict; ``algorithm``/``net`` become ``{name: ..., **args}`` sections."""
        out: dict[str, Any] = {
            "algorithm": {"name": self.algorithm, **_asdict(self.algorithm_args)},
            "net": {"name": self.net, **_asdict(self.net_args)},
        }
        for f in dataclasses.fields(self):
            if f.name not in ("algorithm", "algorithm_args", "net", "net_args"):
                out[f.name] = _asdict(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Build and resolve a config from a (partial) dict; unknown keys raise ``ConfigError``."""
        from semisup.registry import ALGORITHMS, NETS

        if not isinstance(d, dict):
            raise ConfigError(f"a config must be a mapping of keys, got {d!r}")
        d = dict(d)
        for key in ("algorithm_args", "net_args"):  # fields filled from the algorithm/net sections
            if key in d:
                section = key.split("_")[0]
                raise ConfigError(f"unknown config key {key!r}: put these values under {section}: instead")
        # Left unset, the algorithm and mu may still be chosen per data kind (semisup.engine.defaults).
        algorithm_unset = "algorithm" not in d
        data_section = d.get("data") or {}
        mu_unset = getattr(data_section, "mu", None) is None and (
            not isinstance(data_section, dict) or data_section.get("mu") is None
        )
        optim_section = d.get("optim") or {}
        wd_unset = not isinstance(optim_section, dict) or optim_section.get("weight_decay") is None
        algo = _section(d.pop("algorithm", {}), "fixmatch", "algorithm")
        net = _section(d.pop("net", {}), "auto", "net")
        top = build(cls, d, "")
        top.algorithm = algo.pop("name")
        if top.algorithm == "auto":
            raise ConfigError(
                "algorithm 'auto' is a search, not one algorithm: run it with `semisup train --algorithm "
                "auto` or semisup.auto_fit(config_dict, out)"
            )
        top.algorithm_args = build(ALGORITHMS.get(top.algorithm).Config, algo, "algorithm.")
        if top.data.mu is None:  # resolved here so the saved config names the ratio that ran
            top.data.mu = ALGORITHMS.get(top.algorithm).default_mu
        if top.data.mu < 1:
            raise ConfigError(f"data.mu must be an integer >= 1, got {top.data.mu}")
        top._unset = {"algorithm": algorithm_unset, "mu": mu_unset, "weight_decay": wd_unset}
        top.net = net.pop("name")
        if top.net == "custom":  # a user's nn.Module: nothing to build from the config
            top.net_args = None
        elif top.net != "auto":
            top.net_args = build(NETS.get(top.net).Config, net, "net.")
        elif net:
            raise ConfigError(f"net is 'auto' but got arguments {sorted(net)}: name the net (--net NAME)")
        check_ranges(top)
        return top

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        return cls.from_dict(load_yaml(path))


# Ranges checked when a config is built (issue 13: `--steps -5` trained nothing and reported success,
# `algorithm.threshold=95` silently masked every pseudo-label, `train.eval_every=0` divided by zero).
# (low, high, low inclusive, high inclusive); None = unbounded; a list's items are checked one by one.
# Algorithm and net fields are matched by name ("algo.field" for one algorithm only).
_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "data.labels_per_class": (1, None, True, True),
    "data.label_fraction": (0, 1, False, True),
    "data.test_fraction": (0, 1, False, False),
    "data.batch_size": (1, None, True, True),
    "data.eval_batch_size": (1, None, True, True),
    "data.mismatch_fraction": (0, 1, True, True),
    "data.mismatch_classes": (0, None, True, True),
    "data.mismatch_pool_size": (1, None, True, True),
    "data.imbalance.labeled_ratio": (1, None, True, True),
    "data.imbalance.unlabeled_ratio": (1, None, True, True),
    "data.imbalance.unlabeled_head": (1, None, True, True),
    "data.split_seed": (0, None, True, True),
    "data.image_size": (1, None, True, True),
    "augment.translate": (0, 1, True, False),
    "augment.strong_ops": (0, None, True, True),
    "augment.strong_magnitude": (0, 1, True, True),
    "augment.cutout": (0, 1, True, True),
    "augment.noise_std": (0, None, True, True),
    "augment.mask_prob": (0, 1, True, True),
    "augment.swap_prob": (0, 1, True, True),
    "optim.lr": (0, None, False, True),
    "optim.momentum": (0, 1, True, False),
    "optim.weight_decay": (0, None, True, True),
    "optim.warmup_steps": (0, None, True, True),
    "optim.clip_grad_norm": (0, None, False, True),
    "optim.betas": (0, 1, True, False),
    "train.steps": (1, None, True, True),
    "train.eval_every": (1, None, True, True),
    "train.log_every": (1, None, True, True),
    "train.checkpoint_every": (1, None, True, True),
    "train.ema_decay": (0, 1, True, False),
    "train.init_head_layers": (0, None, True, True),
    "train.check_folds": (2, None, True, True),
    "train.check_steps": (1, None, True, True),
    "fabric.devices": (1, None, True, True),
    "fabric.num_nodes": (1, None, True, True),
    "seed": (0, None, True, True),
}
_ALGORITHM_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "threshold": (0, 1, True, True),
    "T": (0, None, False, True),
    "temperature": (0, None, False, True),
    "lambda_u": (0, None, True, True),
    "ema_decay": (0, 1, True, True),
    "ema_decay_rampup": (0, 1, True, True),
    "momentum": (0, 1, True, True),
    "rampup": (0, 1, True, True),
    "label_smoothing": (0, 1, True, False),
    "alpha": (0, None, True, True),
    "alpha_f": (0, None, True, True),
    "lambda_f": (0, None, True, True),
    "lambda_max": (0, None, True, True),
    "n_sigma": (0, None, False, True),
    "ramp_start": (0, 1, True, True),
    "ramp_end": (0, 1, True, True),
    "eps": (0, None, False, True),
    "xi": (0, None, False, True),
    "n_power": (1, None, True, True),
    "K": (1, None, True, True),
    "head_dim": (1, None, True, True),
    "head_hidden": (0, None, True, True),
    "head_layers": (1, None, True, True),
    "distill.alpha": (0, 1, True, True),
    "temporal_ensembling.alpha": (0, 1, True, False),
    "mean_teacher.ema_decay": (0, 1, True, False),
    "mean_teacher.ema_decay_rampup": (0, 1, True, False),
}
_NET_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "width": (1, None, True, True),
    "depth": (1, None, True, True),
    "widen_factor": (1, None, True, True),
    "kernel_size": (1, None, True, True),
    "max_length": (1, None, True, True),
    "hidden": (1, None, True, True),
    "dropout": (0, 1, True, False),
}
# Values from a fixed set. Fabric's precision names: lightning_fabric's _PRECISION_INPUT_STR and aliases.
_CHOICES: dict[str, tuple[str | None, ...]] = {
    "data.kind": (None, "image", "signal", "table", "vector", "text"),
    "optim.name": ("sgd", "adamw"),
    "optim.schedule": ("cosine", "constant"),
    "fabric.accelerator": ("auto", "cpu", "cuda", "gpu", "mps", "tpu"),
    "fabric.precision": (
        "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "transformer-engine",
        "transformer-engine-float16", "32", "16", "bf16", "64",
    ),
    "algorithm.tsa": ("none", "linear", "log", "exp"),
    "algorithm.teacher_view": ("none", "weak", "strong"),
    "algorithm.student_view": ("none", "weak", "strong"),
}  # fmt: skip


def _check_range(key: str, value: Any, bounds: tuple[float | None, float | None, bool, bool]) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_range(key, item, bounds)
        return
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    lo, hi, lo_in, hi_in = bounds
    bad = (lo is not None and (value < lo or (value == lo and not lo_in))) or (
        hi is not None and (value > hi or (value == hi and not hi_in))
    )
    if bad:
        left = "unbounded" if lo is None else f"{'[' if lo_in else '('}{lo:g}"
        right = "" if hi is None else f"{hi:g}{']' if hi_in else ')'}"
        allowed = f"{left}, {right}" if hi is not None else (f">= {lo:g}" if lo_in else f"> {lo:g}")
        raise ConfigError(f"{key}={value!r} is out of range: allowed {allowed}")


def check_ranges(cfg: RunConfig) -> None:
    """Raise ``ConfigError`` naming the key, the value and what is allowed, for any value out of range."""
    flat = cfg.to_dict()
    for key, bounds in _RANGES.items():
        node: Any = flat
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        _check_range(key, node, bounds)
    algo = flat["algorithm"]
    for name, value in algo.items():
        bounds = _ALGORITHM_RANGES.get(f"{algo['name']}.{name}", _ALGORITHM_RANGES.get(name))
        if bounds is not None:
            _check_range(f"algorithm.{name}", value, bounds)
    for name, value in flat["net"].items():
        if name in _NET_RANGES:
            _check_range(f"net.{name}", value, _NET_RANGES[name])
    for key, choices in _CHOICES.items():
        section, name = key.split(".")
        if name in flat[section] and flat[section][name] not in choices:
            allowed = ", ".join("null" if c is None else c for c in choices)
            raise ConfigError(f"{key}={flat[section][name]!r} is not allowed: choose one of {allowed}")
    _check_strategy(flat["fabric"]["strategy"])
    _check_loggers(flat["train"]["loggers"])


def _check_strategy(strategy: str) -> None:
    if strategy == "auto":  # the default: no need to import Fabric to check it
        return
    from lightning_fabric.strategies import STRATEGY_REGISTRY

    if strategy not in STRATEGY_REGISTRY.available_strategies():
        names = ", ".join(["auto", *sorted(STRATEGY_REGISTRY.available_strategies())])
        raise ConfigError(f"fabric.strategy={strategy!r} is not allowed: choose one of {names}")


LOGGERS = ("csv", "tensorboard")


def _check_loggers(loggers: list[str]) -> None:
    bad = [x for x in loggers if x not in LOGGERS]
    if bad or len(set(loggers)) != len(loggers):
        raise ConfigError(
            f"train.loggers={list(loggers)!r}: each of {', '.join(LOGGERS)} at most once, "
            "e.g. [csv, tensorboard]"
        )


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "does not exist"
        raise ConfigError(f"config file {str(p)!r} {what}; give a YAML file of config keys")
    try:
        d = yaml.safe_load(p.read_text()) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"config file {str(p)!r} is not text; give a YAML file of config keys") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {_yaml_problem(e)}") from None
    if not isinstance(d, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping of keys, got {type(d).__name__}")
    return d


def apply_overrides(d: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` strings to a nested dict; values are parsed as YAML (``1e-3``, ``null``)."""
    out = _deepcopy(d)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value, e.g. train.steps=500")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as e:
            raise ConfigError(
                f"override {item!r}: the value is not valid YAML ({_yaml_problem(e)}); write lists as "
                "[1, 2] and quote text with special characters"
            ) from None
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            if isinstance(node.get(p), str) and p in ("algorithm", "net"):
                node[p] = {"name": node[p]}
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {p!r} is a value, not a section")
        node[parts[-1]] = value
    return out


# ---- helpers ---------------------------------------------------------------------------------
def _yaml_problem(e: yaml.YAMLError) -> str:
    """A YAML error on one line: what is wrong and where (YAML's own message spans several lines)."""
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{getattr(e, 'problem', None) or type(e).__name__}{where}"


def _section(raw: Any, default: str, what: str) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"name": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} must be a name or a mapping with 'name', got {raw!r}")
    raw = dict(raw)
    raw.setdefault("name", default)
    if not isinstance(raw["name"], str):
        raise ConfigError(f"{what}.name={raw['name']!r} must be a name, e.g. {default}")
    return raw


def build(cls: type, d: dict[str, Any] | None, prefix: str) -> Any:
    """Instantiate dataclass ``cls`` from ``d``, recursively, type-checked; unknown keys are errors."""
    d = {} if d is None else d
    if dataclasses.is_dataclass(d):
        return d
    if not isinstance(d, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {d!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in d.items():
        if key not in fields:
            hint = closest(key, list(fields))
            dym = f" Did you mean {' or '.join(prefix + h for h in hint)}?" if hint else ""
            raise ConfigError(
                f"unknown config key {prefix + key!r}.{dym} Valid keys here: "
                f"{', '.join(prefix + k for k in fields if k not in ('algorithm_args', 'net_args'))}."
            )
        kwargs[key] = _coerce(value, hints[key], prefix + key)
    return cls(**kwargs)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        return build(tp, value, key + ".")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key} must have {len(args)} items, got {value!r}")
            return tuple(_coerce(v, a, key) for v, a in zip(value, args, strict=True))
        inner = args[0] if args else Any
        seq = [_coerce(v, inner, key) for v in value]
        return tuple(seq) if origin is tuple else seq
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():  # False for inf and nan
            return int(value)
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if tp is float:
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is None or not math.isfinite(number):  # nan passes every range check: refuse it here
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string, got {value!r}")
    return value


def _asdict(obj: Any) -> Any:
    if obj is None:
        return {}
    if not dataclasses.is_dataclass(obj):
        return obj
    d = dataclasses.asdict(obj)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d
