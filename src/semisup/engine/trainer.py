"""The one training loop. It owns the update, in this order, once per step:

sample → augment → algorithm loss → backward → clip → optimizer step → schedule → EMA → algorithm
state → log/eval/checkpoint. Algorithms only compute the loss; callbacks only observe.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semisup.algorithms.base import Algorithm, StepContext
from semisup.components.ema import EMA
from semisup.config import RunConfig
from semisup.data.batch import Batch
from semisup.data.dataset import DataError, SSLDataset
from semisup.data.kinds import describe
from semisup.engine.callbacks import Callback
from semisup.engine.checkpoint import CKPT_NAME, load_checkpoint, save_checkpoint
from semisup.engine.defaults import resolve_defaults
from semisup.engine.distributed import (
    check_sync_batchnorm,
    collective,
    convert_sync_batchnorm,
    global_meter_state,
    reduced_means,
)
from semisup.engine.evaluate import class_recall, evaluate, predict_logits
from semisup.engine.fabric import Fabric
from semisup.engine.init import InitReport, load_init
from semisup.engine.loggers import build_loggers, check_loggers
from semisup.engine.metrics import Logger, Meter, MetricsCSV
from semisup.engine.optim import build_optimizer, build_scheduler
from semisup.engine.progress import ProgressBar
from semisup.engine.runs import SavedRuns
from semisup.engine.sampler import IndexStream, step_seed
from semisup.engine.setup import build_model, prepare_data
from semisup.nets.heads import HeadSpec, put_head
from semisup.registry import ALGORITHMS
from semisup.seeds import stream


class RunExistsError(FileExistsError):
    pass


class NonFiniteLossError(FloatingPointError):
    """The loss became nan or inf in full or bf16 precision; the message says between which steps."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run at a step boundary; ``step`` and ``run_dir`` say where it was saved."""

    def __init__(self, step: int, run_dir: Path | None) -> None:
        super().__init__(f"interrupted after step {step}")
        self.step, self.run_dir = step, run_dir


@contextlib.contextmanager
def _stop_at_step_boundary(enabled: bool) -> Iterator[list[bool]]:
    """The first Ctrl-C sets a flag the loop reads after a whole step (so the checkpoint it writes is
    exact); a second one interrupts at once. Only in the main thread of a single process: under DDP every
    rank would have to agree on the step first."""
    flag = [False]
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: object) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class RunResult:
    run_dir: Path | None
    summary: dict[str, Any]


class Trainer:
    """Builds everything from a resolved ``RunConfig`` and runs the loop. Use ``semisup.fit`` rather than
    this: it loads the data, resolves the config and launches the processes first."""

    def __init__(
        self,
        cfg: RunConfig,
        fabric: Fabric,
        out: Path | None,
        data: SSLDataset,
        net: nn.Module | None = None,
        callbacks: Sequence[Callback] = (),
        resume: bool = False,
    ) -> None:
        self.cfg, self.fabric, self.callbacks = cfg, fabric, list(callbacks)
        self.data = data
        algo_cls = ALGORITHMS.get(cfg.algorithm)
        if algo_cls.unlabeled_views and data.n_unlabeled == 0 and not algo_cls.self_supervised:
            raise DataError(
                f"{cfg.algorithm} is semi-supervised but the data has no unlabeled example (no label is -1). "
                "Add unlabeled examples, pass labels_per_class to hide labels, or use --algorithm supervised"
            )
        self.rank, self.world = fabric.global_rank, fabric.world_size
        self.dist = collective(fabric)  # StepContext.dist: algorithm state from the global batch
        device = fabric.device

        # Same seed on every rank before building the net: identical initial weights everywhere.
        fabric.seed_everything(cfg.seed, verbose=False)
        self.tensors = prepare_data(data, cfg, device, pool_all=algo_cls.self_supervised)
        resolve_defaults(cfg, data)
        model = build_model(cfg, data, net)
        if self.rank == 0 and cfg.train.progress:
            steps = f"{cfg.train.steps:,} steps"
            print(f"{cfg.algorithm} on {describe(data)}; net {cfg.net}, {steps}", flush=True)
        # A resumed run reads nothing outside its folder: the checkpoint holds the weights the init
        # source gave (init.json the head it shaped), and the algorithm's teachers.
        restoring = resume and out is not None and (Path(out) / "checkpoints" / CKPT_NAME).exists()
        self.init_report: InitReport | None = None
        saved_init = Path(out) / "init.json" if out is not None else None
        if cfg.train.init and restoring and saved_init is not None and saved_init.exists():
            self.init_report = InitReport.from_json(saved_init)
            if self.init_report.head_spec is not None:
                put_head(model, self.init_report.head_spec, data.num_classes)
        elif cfg.train.init:
            self.init_report = load_init(model, cfg.train.init, data.num_classes, cfg.train.init_head_layers)
            if self.rank == 0:
                print(self.init_report)
        self.algorithm: Algorithm = algo_cls(cfg.algorithm_args, data.num_classes, self.tensors.n_pool)
        self.algorithm.restoring = restoring
        self.algorithm.run_models = SavedRuns()  # another run's model (distill's teacher), read here
        self.algorithm.observe_labels(self.tensors.y_lb)  # the labeled class distribution (long-tailed SSL)
        # The objective's heads (SimCLR's projection head) go on before attach and the EMA copy; the
        # checkpoint's meta lists every head, so the model is rebuilt from the run folder alone.
        init_head = self.init_report.head_spec if self.init_report is not None else None
        self.heads: list[HeadSpec] = [init_head] if init_head is not None else []
        for spec in self.algorithm.model_heads():
            put_head(model, spec, data.num_classes)
            self.heads.append(spec)
        self.algorithm.attach(model)
        if cfg.fabric.sync_batchnorm:  # BatchNorm over the global batch, the teacher's (mean teacher) too
            check_sync_batchnorm(cfg.fabric, fabric)
            convert_sync_batchnorm(model, self.algorithm)
        self.ema = EMA(model, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
        optimizer = build_optimizer(model, cfg.optim)
        if cfg.train.compile:
            model = torch.compile(model)
        self.model, self.optimizer = fabric.setup(model, optimizer)
        self.scheduler = build_scheduler(self.optimizer, cfg.train.steps, cfg.optim)
        self.algorithm.to(device)
        if self.ema is not None:
            self.ema.to(device)

        B = cfg.data.batch_size
        mu = cfg.data.mu if cfg.data.mu is not None else algo_cls.default_mu  # from_dict resolves it
        # Independent children of one SeedSequence: seed s's unlabeled stream is not seed s+1's labeled one.
        lab_seed, ulb_seed = stream(cfg.seed, "labeled_batches"), stream(cfg.seed, "unlabeled_batches")
        self.lab_stream = (
            None
            if algo_cls.self_supervised
            else IndexStream(len(self.tensors.y_lb), B, lab_seed, self.rank, self.world, device)
        )
        self.ulb_stream = (
            IndexStream(self.tensors.n_pool, mu * B, ulb_seed, self.rank, self.world, device)
            if algo_cls.unlabeled_views
            else None
        )
        self.step, self.train_seconds = 0, 0.0
        self.meter, self.timer = Meter(), Meter()
        # fp16's GradScaler skips the optimizer step when gradients overflow; counted on the device (no
        # host sync per step). Non-finite losses are counted too: an error without a scaler.
        self.scaler = getattr(fabric.strategy.precision, "scaler", None)
        self.skipped_steps = torch.zeros((), dtype=torch.long, device=device)
        self.nonfinite = torch.zeros((), dtype=torch.long, device=device)
        self._finite_step = 0  # the last step at which the loss was checked finite
        self.out = Path(out) if out is not None else None
        self.loggers: list[Logger] = []
        check_loggers(cfg.train.loggers)  # on every rank: a missing package stops all of them
        self._open_run_dir(resume)

    # ---- run folder --------------------------------------------------------------------------
    def _open_run_dir(self, resume: bool) -> None:
        if self.out is None:
            return
        ckpt = self.out / "checkpoints" / CKPT_NAME
        if ckpt.exists() and not resume:
            raise RunExistsError(
                f"{self.out} already holds a run; pass --resume to continue it or choose another --out"
            )
        if resume and ckpt.exists():
            rest = load_checkpoint(self.fabric, ckpt, self._state())
            saved = RunConfig.from_dict(rest["config"])
            if saved.to_dict() != self.cfg.to_dict():
                raise ValueError(f"{self.out} was trained with another config; resume with its config.yaml")
            self.scheduler.load_state_dict(rest["scheduler"])
            self.step, self.train_seconds = int(rest["step"]), float(rest["train_seconds"])
            # the saved sums are every rank's (global_meter_state): rank 0 carries them, the others restart
            self.meter.load_state_dict(rest["meter"] if self.dist.rank == 0 else {})
            self.fabric.strategy.precision.load_state_dict(rest.get("precision", {}))  # fp16's GradScaler
            self.skipped_steps.fill_(int(rest.get("skipped_steps", 0)))
            metrics_position = rest.get("metrics_position")
        else:
            metrics_position = None
        if self.rank == 0:
            (self.out / "checkpoints").mkdir(parents=True, exist_ok=True)
            self.cfg.to_yaml(self.out / "config.yaml")
            if self.init_report is not None:
                self.init_report.to_json(self.out / "init.json")
            # val/* appear only at evaluation steps: declared so the CSV header never has to grow.
            columns = ["lr", "val/acc", "val/balanced_acc", "val/loss"]
            if self.data.X_test_unknown is not None:  # open-set evaluation (semisup.engine.open_set)
                columns.append("val/unknown_auroc")
                if "open_set_head" in self.meta():
                    columns.append("val/unknown_rate")
            self.loggers = build_loggers(self.cfg.train.loggers, self.out, columns, self.step)
            if self.csv is not None:  # rows logged after the checkpoint are redone: cut them
                self.csv.resume(self.step, metrics_position)

    @property
    def csv(self) -> MetricsCSV | None:
        return next((lg for lg in self.loggers if isinstance(lg, MetricsCSV)), None)

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": self.model,
            "optimizer": self.optimizer,
            "algorithm": self.algorithm,
        }
        if self.ema is not None:
            state["ema"] = self.ema
        return state

    def save(self) -> None:
        if self.out is None:
            return
        for lg in self.loggers:
            lg.save()
        csv = self.csv
        extra = {
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "train_seconds": self.train_seconds,
            "meter": global_meter_state(self.meter, self.dist, self.fabric.device),
            "precision": self.fabric.strategy.precision.state_dict(),
            "skipped_steps": int(self.skipped_steps),
            # where metrics.csv ends at this step (rank 0 writes it and the checkpoint): resume cuts there
            "metrics_position": csv.flush() if csv is not None else None,
            "config": self.cfg.to_dict(),
            "meta": self.meta(),
        }
        path = save_checkpoint(self.fabric, self.out / "checkpoints", {**self._state(), **extra})
        for cb in self.callbacks:
            cb.on_checkpoint(self, self.step, str(path))

    def meta(self) -> dict[str, Any]:
        """What a predictor needs to rebuild the model from the run folder alone."""
        meta = {
            "classes": list(self.data.classes),
            "input_shape": list(self.data.input_shape),
            "kind": self.data.kind,
            "dataset": self.data.name,
            "columns": self.data.columns,  # tables: features are matched by name at prediction time
            "categories": self.data.categories,
            **self.algorithm.meta(),
        }
        if self.heads:
            meta["heads"] = [spec.to_dict() for spec in self.heads]
        return meta

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.fabric_raw_model

    @property
    def fabric_raw_model(self) -> nn.Module:
        return self.model.module if hasattr(self.model, "module") else self.model

    # ---- the loop ----------------------------------------------------------------------------
    def make_batch(self, step: int) -> Batch:
        t = self.tensors
        if self.lab_stream is None:  # self-supervised: no labeled batch
            i_l = torch.zeros(0, dtype=torch.long, device=t.y_lb.device)
            x_lb, lb_views = t.X_pool[i_l], ()
        else:
            i_l = self.lab_stream.indices(step)
            x_lb = t.views[self.algorithm.labeled_view](t.X_lb[i_l])
            lb_views = tuple(t.views[v](t.X_lb[i_l]) for v in self.algorithm.labeled_extra_views)
        if self.ulb_stream is None:
            return Batch(x_lb=x_lb, y_lb=t.y_lb[i_l], lb_views=lb_views)
        i_u = self.ulb_stream.indices(step)
        u = t.X_pool[i_u]
        u_views = tuple(t.views[v](u) for v in self.algorithm.unlabeled_views)
        return Batch(
            x_lb=x_lb, y_lb=t.y_lb[i_l], u_views=u_views, u_index=i_u, u_true=t.u_true[i_u], lb_views=lb_views
        )

    def train_step(self, step: int) -> tuple[torch.Tensor, dict[str, Any], Batch]:
        cfg, prof = self.cfg, self.cfg.train.profile
        # Per-step seeding: augmentation and dropout depend only on (seed, step, rank), so a resumed
        # run draws exactly what the uninterrupted one would have.
        torch.manual_seed(step_seed(cfg.seed, step, self.rank))
        t0 = self._tick(prof)
        batch = self.make_batch(step)
        t1 = self._tick(prof)
        ctx = StepContext(step, cfg.train.steps, self.dist)
        loss, logs = self.algorithm.training_step(self.model, batch, ctx)
        self.fabric.backward(loss)
        self.nonfinite += (~torch.isfinite(loss.detach())).long()  # on the device: read at log/checkpoint
        t2 = self._tick(prof)
        if cfg.optim.clip_grad_norm:
            self.fabric.clip_gradients(self.model, self.optimizer, max_norm=cfg.optim.clip_grad_norm)
        # fp16: the scaler skips the step on inf/NaN gradients and lowers its scale; comparing the scale
        # tensor before and after counts the skips without the host sync of ``get_scale()``.
        scale = getattr(self.scaler, "_scale", None)
        scale = scale.clone() if scale is not None else None
        self.optimizer.step()
        if scale is not None:
            self.skipped_steps += (self.scaler._scale < scale).long()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.fabric_raw_model)
        self.algorithm.after_step(self.fabric_raw_model)
        if prof:
            t3 = self._tick(prof)
            self.timer.add(
                {"time/augment": t1 - t0, "time/forward_backward": t2 - t1, "time/update": t3 - t2}
            )
        logs = {"train/loss": loss.detach(), **logs}
        return loss, logs, batch

    def _tick(self, sync: bool) -> float:
        if sync and self.fabric.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    def run(self) -> RunResult:
        cfg = self.cfg
        total = cfg.train.steps
        bar = ProgressBar(total, self.step, f"{cfg.algorithm}", cfg.train.progress and self.rank == 0)
        for cb in self.callbacks:
            cb.on_train_start(self)
        self.model.train()
        start_time = time.perf_counter()
        last_eval: dict[str, float] = {}
        self._finite_step = self.step
        try:
            with _stop_at_step_boundary(self.world == 1) as stop:
                while self.step < total:
                    step = self.step
                    t_step = self._tick(cfg.train.profile)
                    loss, logs, batch = self.train_step(step)
                    self.meter.add(logs)
                    for cb in self.callbacks:
                        cb.on_train_batch_end(self, step, batch, loss, logs)
                    if cfg.train.profile:
                        self.timer.add({"time/step": self._tick(True) - t_step})
                    self.step = step + 1
                    done = self.step == total
                    if self.step % cfg.train.log_every == 0 or done:
                        self._check_finite()
                        means = reduced_means(self.meter, self.dist, self.fabric.device)  # over all ranks
                        values = {**means, "lr": self.scheduler.get_last_lr()[0]}
                        self.meter.reset()
                        self._record(values, bar)
                    if self.step % cfg.train.eval_every == 0 or done:
                        last_eval = self.validate()
                        self._record(last_eval, bar)
                    if self.csv is not None:
                        self.csv.commit()  # this step's log and evaluation share one row
                    if self.step % cfg.train.checkpoint_every == 0 or done or stop[0]:
                        self._check_finite()  # never checkpoint weights a non-finite loss has reached
                        self.train_seconds += time.perf_counter() - start_time
                        start_time = time.perf_counter()
                        self.save()
                    if stop[0] and not done:  # Ctrl-C: saved just above, after a whole step
                        raise RunInterrupted(self.step, self.out)
        finally:
            bar.close()
            for lg in self.loggers:
                lg.finalize("success" if self.step == total else "failed")
        if not last_eval:  # resumed a finished run: nothing trained, evaluate what was saved
            last_eval = self.validate()
        summary = self.summary(last_eval)
        if self.out is not None and self.rank == 0:
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        for cb in self.callbacks:
            cb.on_train_end(self, summary)
        return RunResult(self.out, summary)

    def _record(self, values: dict[str, float], bar: ProgressBar) -> None:
        if self.rank != 0:
            return
        if values:
            for lg in self.loggers:
                lg.log_metrics(values, self.step)
        bar.update(self.step, values)
        for cb in self.callbacks:
            cb.on_log(self, self.step, values)

    def _check_finite(self) -> None:
        """Without a GradScaler (fp32, bf16) a non-finite loss poisons the weights: stop with what to do.
        Under fp16 the scaler skipped those steps and ``skipped_steps`` counts them."""
        if self.scaler is not None or not int(self.nonfinite):  # one host sync per log or checkpoint
            self._finite_step = self.step
            return
        raise NonFiniteLossError(
            f"the training loss became nan or inf between steps {self._finite_step} and {self.step} "
            f"(precision {self.cfg.fabric.precision}); the weights are no longer usable. Lower optim.lr, set "
            "optim.clip_grad_norm, or check the inputs for extreme values, and train again"
        )

    def validate(self) -> dict[str, float]:
        t = self.tensors
        if t.X_test is None or self.rank != 0 or self.algorithm.self_supervised:
            return {}  # a self-supervised model outputs projections, not class scores
        m = evaluate(self.eval_model, t.X_test, t.y_test, self.cfg.data.eval_batch_size)
        metrics = {"val/acc": m["acc"], "val/balanced_acc": m["balanced_acc"], "val/loss": m["loss"]}
        metrics.update(self._open_set_eval())
        for cb in self.callbacks:
            cb.on_validation_end(self, self.step, metrics)
        return metrics

    def summary(self, last_eval: dict[str, float]) -> dict[str, Any]:
        cfg = self.cfg
        timing = self.timer.compute()
        ssl_only = self.algorithm.self_supervised
        return {
            "test_accuracy": last_eval.get("val/acc"),
            "test_balanced_accuracy": last_eval.get("val/balanced_acc"),
            "test_loss": last_eval.get("val/loss"),
            **self._open_set_summary(last_eval),
            **self._class_recall(),
            "algorithm": cfg.algorithm,
            "dataset": self.data.name,
            "labels_per_class": cfg.data.labels_per_class,
            "label_fraction": cfg.data.label_fraction,
            # a self-supervised objective trains on every input and ignores all labels
            "n_labeled": 0 if ssl_only else int(len(self.tensors.y_lb)),
            "n_unlabeled": self.tensors.n_pool if ssl_only else int(self.data.n_unlabeled),
            "seed": cfg.seed,
            "steps": self.step,
            "train_seconds": round(self.train_seconds, 3),
            "net": cfg.net,
            "device": str(self.fabric.device),
            "world_size": self.world,
            "precision": cfg.fabric.precision,
            **({"train/skipped_steps": int(self.skipped_steps)} if self.scaler is not None else {}),
            **({"step_time": timing} if timing else {}),
            **self.meta(),
        }

    def _open_set_eval(self) -> dict[str, float]:
        """``val/unknown_auroc`` where the test split has unknown-class inputs (a class-mismatch run):
        how well the unknown score separates them from the known-class test inputs."""
        if self.data.X_test_unknown is None or self.tensors.X_test is None:
            return {}
        from semisup.engine.open_set import open_set_metrics

        if getattr(self, "_X_unknown", None) is None:  # moved to the device once
            self._X_unknown = torch.as_tensor(self.data.X_test_unknown, dtype=torch.float32).to(
                self.fabric.device
            )
        t, bs = self.tensors, self.cfg.data.eval_batch_size
        m = open_set_metrics(self.eval_model, t.X_test, t.y_test, self._X_unknown, bs)
        return {f"val/{k}": v for k, v in m.items() if k != "closed_set_acc"}

    def _open_set_summary(self, last_eval: dict[str, float]) -> dict[str, Any]:
        """Open-set runs: ``closed_set_accuracy`` (accuracy on the known classes, = ``test_accuracy``),
        ``unknown_auroc`` and, for a model with an open-set detector, ``unknown_rate`` (unknown test
        inputs it predicts as unknown)."""
        if "val/unknown_auroc" not in last_eval:
            return {}
        out = {
            "closed_set_accuracy": last_eval.get("val/acc"),
            "unknown_auroc": last_eval["val/unknown_auroc"],
        }
        if "val/unknown_rate" in last_eval:
            out["unknown_rate"] = last_eval["val/unknown_rate"]
        return out

    def _class_recall(self) -> dict[str, Any]:
        """``test_class_recall`` (class name -> recall) for long-tailed runs (``data.imbalance``)."""
        t = self.tensors
        skip = self.rank != 0 or self.algorithm.self_supervised or t.X_test is None
        if self.cfg.data.imbalance is None or skip:
            return {}
        logits = predict_logits(self.eval_model, t.X_test, self.cfg.data.eval_batch_size)
        recall = class_recall(logits.argmax(-1), t.y_test, self.data.num_classes).tolist()
        return {"test_class_recall": dict(zip(self.data.classes, recall, strict=True))}


def __getattr__(name: str) -> Any:
    """``fit`` and ``resume`` lived here before the run orchestration moved above the engine."""
    if name in ("fit", "resume"):
        import warnings

        warnings.warn(
            f"semisup.engine.trainer.{name} moved: use semisup.{name} (semisup.run.{name})",
            DeprecationWarning,
            stacklevel=2,
        )
        from semisup import run  # deprecated alias only: the engine never calls up into the run layer

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
