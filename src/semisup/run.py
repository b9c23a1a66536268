"""A training run from end to end: ``semisup.fit`` and ``semisup.resume``.

Above the engine: load and validate the data, resolve the config, run the SSL check when asked, launch
the processes, let the engine's ``Trainer`` run the loop, then write what needs more than the loop
(``ssl_check.json``, ``plots.png``). The engine never imports this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from semisup.config import RunConfig
from semisup.data.dataset import SSLDataset
from semisup.engine.callbacks import Callback
from semisup.engine.checkpoint import CKPT_NAME
from semisup.engine.defaults import resolve_defaults
from semisup.engine.distributed import check_sync_batchnorm, fabric_kwargs
from semisup.engine.fabric import Fabric
from semisup.engine.trainer import RunResult, Trainer


def fit(
    cfg: RunConfig,
    out: str | Path | None = None,
    data: SSLDataset | None = None,
    net: nn.Module | None = None,
    callbacks: Sequence[Callback] = (),
    resume: bool = False,
) -> RunResult:
    """Train ``cfg`` and write the run folder ``out`` (``config.yaml``, ``metrics.csv``, ``summary.json``,
    ``checkpoints/last.ckpt``). Bad data, names or keys raise before the first step.

    With ``fabric.devices`` > 1 Fabric starts one process per device (DDP); each draws its own batches.
    ``train.check_ssl`` runs ``semisup.ssl_check`` first (result in ``ssl_check.json``);
    ``train.plots`` draws ``plots.png`` at the end.
    """
    from semisup.data.load import load_dataset  # the file readers: only when no data set is given

    data = (load_dataset(cfg.data, cfg.seed) if data is None else data).validate()
    cfg.data.kind = data.kind  # the resolved kind is saved in config.yaml
    resolve_defaults(cfg, data)
    check = None
    if cfg.train.check_ssl and not resume:  # semisup.check: warns when SSL is unlikely to help
        from semisup.check import ssl_check  # it trains through this module's fit

        check = ssl_check(cfg, cfg.train.check_folds, cfg.train.check_steps, data=data)
    if net is not None:
        cfg.net, cfg.net_args = "custom", None
    fabric = Fabric(**fabric_kwargs(cfg.fabric))
    check_sync_batchnorm(cfg.fabric, fabric)  # before launching: one message, not one per process
    fabric.launch()
    trainer = Trainer(cfg, fabric, Path(out) if out is not None else None, data, net, callbacks, resume)
    result = trainer.run()
    if result.run_dir is not None and trainer.rank == 0:
        if check is not None:
            (result.run_dir / "ssl_check.json").write_text(json.dumps(check.to_dict(), indent=2) + "\n")
        if cfg.train.plots and net is None:
            from semisup.plots.run import plot_run  # matplotlib: only for runs that ask for plots

            plot_run(result.run_dir, data=data)
    return result


def resume(run_dir: str | Path, callbacks: Sequence[Callback] = ()) -> RunResult:
    """Continue a stopped run from ``run_dir/checkpoints/last.ckpt`` with its saved config."""
    run_dir = Path(run_dir)
    cfg = RunConfig.from_yaml(run_dir / "config.yaml")
    if not (run_dir / "checkpoints" / CKPT_NAME).exists():
        raise FileNotFoundError(f"{run_dir} has no checkpoints/{CKPT_NAME} to resume from")
    return fit(cfg, run_dir, callbacks=callbacks, resume=True)
