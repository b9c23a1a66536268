import pytest

from semisup.config import ConfigError, RunConfig, apply_overrides
from semisup.registry import ALGORITHMS, NETS, UnknownNameError


def test_defaults_resolve_algorithm_config():
    cfg = RunConfig.from_dict({})
    assert cfg.algorithm == "fixmatch"
    assert cfg.algorithm_args == ALGORITHMS.get("fixmatch").Config()
    assert cfg.algorithm_args.threshold == 0.95


def test_round_trip_yaml(tmp_path):
    cfg = RunConfig.from_dict({"algorithm": {"name": "pi_model", "lambda_u": 10}, "net": "mlp", "seed": 3})
    cfg.to_yaml(tmp_path / "c.yaml")
    back = RunConfig.from_yaml(tmp_path / "c.yaml")
    assert back == cfg
    assert back.algorithm_args.lambda_u == 10.0 and isinstance(back.algorithm_args.lambda_u, float)


@pytest.mark.parametrize(
    "d, expected",
    [
        ({"train": {"stpes": 3}}, "train.steps"),
        ({"optimm": {}}, "optim"),
        ({"algorithm": {"name": "fixmatch", "treshold": 0.9}}, "algorithm.threshold"),
    ],
)
def test_unknown_key_suggests_closest(d, expected):
    with pytest.raises(ConfigError, match="Did you mean") as e:
        RunConfig.from_dict(d)
    assert expected in str(e.value)


def test_unknown_algorithm_suggests_closest():
    with pytest.raises(UnknownNameError, match="fixmatch"):
        RunConfig.from_dict({"algorithm": "fixmach"})


def test_type_errors_are_clear():
    with pytest.raises(ConfigError, match="train.steps must be an integer"):
        RunConfig.from_dict({"train": {"steps": "many"}})
    with pytest.raises(ConfigError, match="must be true or false"):
        RunConfig.from_dict({"optim": {"nesterov": "yes"}})


def test_overrides_parse_yaml_values():
    d = apply_overrides(
        {}, ["train.steps=500", "optim.clip_grad_norm=null", "algorithm.threshold=0.9", "optim.lr=1e-3"]
    )
    cfg = RunConfig.from_dict(d)
    assert cfg.train.steps == 500 and cfg.optim.clip_grad_norm is None
    assert cfg.algorithm_args.threshold == 0.9 and cfg.optim.lr == 1e-3
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["train.steps"])
    # an algorithm given by name can still take argument overrides
    d = apply_overrides({"algorithm": "fixmatch"}, ["algorithm.lambda_u=2"])
    assert RunConfig.from_dict(d).algorithm_args.lambda_u == 2.0


def test_net_args_need_a_named_net():
    with pytest.raises(ConfigError, match="name the net"):
        RunConfig.from_dict({"net": {"width": 3}})


def test_mu_defaults_to_the_algorithms_paper_ratio_and_is_saved_resolved():
    assert RunConfig.from_dict({"algorithm": "fixmatch"}).data.mu == 7
    mm = RunConfig.from_dict({"algorithm": "mixmatch"})
    assert mm.data.mu == 1  # MixMatch: equal labeled and unlabeled batches
    assert mm.to_dict()["data"]["mu"] == 1
    assert RunConfig.from_dict({"algorithm": "mixmatch", "data": {"mu": 3}}).data.mu == 3
    with pytest.raises(ConfigError, match="data.mu must be an integer >= 1"):
        RunConfig.from_dict({"data": {"mu": 0}})


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--steps", "-5"], "train.steps=-5"),
        (["--set", "algorithm.threshold=95"], "algorithm.threshold=95"),
        (["--set", "train.eval_every=0"], "train.eval_every=0"),
        (["--set", "algorithm.T=0"], "algorithm.T=0"),
        (["--set", "data.batch_size=0"], "data.batch_size=0"),
        (["--set", "train.ema_decay=1.5"], "train.ema_decay=1.5"),
    ],
)
def test_out_of_range_values_exit_2_with_one_line(tmp_path, capsys, flags, named):
    """Regression (issue 13): these trained nothing, masked everything or divided by zero."""
    from semisup.cli import main

    out = tmp_path / "r"
    assert main(["train", "--data", "moons", "--algorithm", "fixmatch", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and named in err and "allowed" in err and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ({"optim": {"lr": "nan"}}, "optim.lr must be a finite number, got 'nan'"),
        ({"optim": {"lr": float("inf")}}, "optim.lr must be a finite number"),
        ({"optim": {"name": "adamx"}}, "optim.name='adamx' is not allowed: choose one of sgd, adamw"),
        ({"fabric": {"accelerator": "tpux"}}, "fabric.accelerator='tpux' is not allowed"),
        ({"fabric": {"strategy": "ddpx"}}, "fabric.strategy='ddpx' is not allowed"),
        ({"algorithm": {"name": "uda", "tsa": "linar"}}, "algorithm.tsa='linar' is not allowed"),
        (
            {"algorithm": {"name": "mean_teacher", "ema_decay": 1.0}},
            "algorithm.ema_decay=1.0 is out of range",
        ),
        ({"net": {"name": "mlp", "hidden": [64, 0]}}, "net.hidden=0 is out of range: allowed >= 1"),
        ({"net": {"name": "cnn", "dropout": 1}}, "net.dropout=1.0 is out of range: allowed [0, 1)"),
        ({"data": {"image_size": [8]}}, "data.image_size must have 2 items"),
        ({"data": {"mismatch_classes": [1, -2]}}, "data.mismatch_classes=-2 is out of range"),
        ({"algorithm_args": {"threshold": 0.5}}, "unknown config key 'algorithm_args'"),
        ({"algorithm": {"name": 5}}, "algorithm.name=5 must be a name"),
        ([1, 2], "a config must be a mapping"),
    ],
)
def test_values_are_checked_when_the_config_is_built(d, message):
    """Issue 13: types, finiteness, choices and ranges fail at build time, naming key and value."""
    with pytest.raises(ConfigError) as e:
        RunConfig.from_dict(d)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_every_registered_default_config_passes_the_checks():
    for algo in ALGORITHMS.names():
        for net in NETS.names():
            section = {"name": algo, "teacher": "runs/t"} if algo == "distill" else algo
            RunConfig.from_dict({"algorithm": section, "net": net})


def test_yaml_errors_are_one_line(tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  steps: [1,\n  x: :\n")
    with pytest.raises(ConfigError, match=r"not valid YAML: .* at line 3, column 6$"):
        RunConfig.from_yaml(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="the value is not valid YAML"):
        apply_overrides({}, ["train.steps=["])
