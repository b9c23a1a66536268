"""Defaults that depend on the data: the training budget and the auto net's size.

A user's first run with defaults should be fast on a 2-core laptop and good on the data's kind. The
rules, applied only to values left unset (``train.steps: null``, ``net: auto``), and saved resolved in
``config.yaml``:

- the algorithm, when the config names none: FixMatch for images, signals (1-D RandAugment views) and
  tables (SCARF views); the Π-model for dense vectors (on two moons with 8 labels FixMatch's masking view
  loses to supervised training, 85.3 vs 87.5 %, while the Π-model reaches 98.0 %); mean teacher for text
  embeddings (the best deep method on BENCHMARKS.md's text set). ``data.mu`` follows the algorithm's
  paper ratio unless set.
- ``train.steps``: 1,000 steps for every kind. On digits (4 labels/class) FixMatch reaches 96.5 % at 1,000
  steps and 97.2 % at 2,500 (BENCHMARKS.md, issue 3), so the last 60 % of a 2,500-step run buys 0.7 points
  at 2.5× the time; on moons the Π-model and on signals and tables FixMatch plateau earlier still. The
  cosine schedule is stretched over whatever budget is chosen, so shorter runs are not truncated runs.
  ``train.eval_every`` (when unset) is a tenth of the budget.
- ``optim.weight_decay`` on tables: 0.05 instead of FixMatch's 5e-4. A table's few labels overfit the
  256-wide MLP; strong L2 is what logistic regression's default regularisation gives it. Supervised
  training on 5 % of the labels, mean of 3 seeds: iris 76.3 → 83.7 %, wine 88.9 → 93.2 %, fair 63.7 →
  70.2 %, penguins 96.2 → 97.8 %, breast cancer 91.4 → 91.4 %; on tables not used to choose it (anes96,
  two ``make_classification`` tables) +0.4 points for supervised training and +1.5 for FixMatch
  (BENCHMARKS.md, issue 12).
- ``net: auto`` on images of side <= 32 px (8x8 digits, 28x28 MNIST, 32x32 CIFAR) is the CNN at width
  16, which matches width 32's accuracy on digits at a third of the step time, so a CPU run stays in
  minutes; larger images get the CNN's default width 32. On a GPU, name the net (``--net wrn28_2``).
  Signals get ``cnn1d``, tables ``table_mlp``, vectors and text embeddings ``mlp``
  (``nets.build.DEFAULT_NETS``).

GPU users and paper-length schedules set ``--steps`` (FixMatch's paper: 2^20 steps).
"""

from __future__ import annotations

from semisup.config import RunConfig
from semisup.data.dataset import SSLDataset

DEFAULT_ALGORITHMS = {
    "image": "fixmatch",
    "signal": "fixmatch",
    "table": "fixmatch",
    "vector": "pi_model",
    "text": "mean_teacher",
}
DEFAULT_STEPS = 1000
TABLE_WEIGHT_DECAY = 0.05
SMALL_IMAGE_SIDE = 32
SMALL_IMAGE_WIDTH = 16


def default_steps(data: SSLDataset) -> int:
    """The step budget for ``data`` when ``train.steps`` is unset (module docstring)."""
    return DEFAULT_STEPS


def resolve_defaults(cfg: RunConfig, data: SSLDataset) -> RunConfig:
    """Fill the data-dependent defaults of ``cfg`` in place (idempotent) and return it."""
    from semisup.registry import ALGORITHMS

    unset = getattr(cfg, "_unset", {})
    if unset.get("algorithm") and cfg.algorithm != DEFAULT_ALGORITHMS[data.kind]:
        cfg.algorithm = DEFAULT_ALGORITHMS[data.kind]
        cfg.algorithm_args = ALGORITHMS.get(cfg.algorithm).Config()
        if unset.get("mu"):
            cfg.data.mu = ALGORITHMS.get(cfg.algorithm).default_mu
    if unset.get("weight_decay") and data.kind == "table":
        cfg.optim.weight_decay = TABLE_WEIGHT_DECAY
    cfg._unset = {}
    if cfg.train.steps is None:
        cfg.train.steps = default_steps(data)
    if cfg.train.eval_every is None:
        cfg.train.eval_every = max(1, cfg.train.steps // 10)
    if cfg.net == "auto" and data.kind == "image" and max(data.input_shape[1:]) <= SMALL_IMAGE_SIDE:
        from semisup.registry import NETS

        cfg.net = "cnn"
        cfg.net_args = NETS.get("cnn").Config(width=SMALL_IMAGE_WIDTH)
    return cfg
