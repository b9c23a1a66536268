"""Does SSL beat supervised training on *this* data? A k-fold check on the labeled examples.

Oliver et al. 2018 ("Realistic Evaluation of Deep Semi-Supervised Learning Algorithms",
https://arxiv.org/abs/1804.09170) showed that SSL can lose to a supervised baseline trained on the same
labels, and loses more when the unlabeled data holds classes the labels never mention. The only labels
a user has are the few labeled ones, so the check cross-validates on them:

for each of ``folds`` stratified folds of the labeled examples (``repeats`` times, reshuffled), the
fold is removed from the training data altogether (neither labeled nor in the unlabeled pool), and the
supervised baseline and the SSL algorithm are trained on the rest with the same net and a short
budget. Both predict the removed fold. Over the N pooled held-out examples, "wins" are those SSL gets
right and supervised wrong, "losses" the reverse. ``decide`` says SSL is ahead beyond noise when

- the exact one-sided sign test on wins against losses (McNemar's test) gives
  p_sign = P(Binomial(wins + losses, 1/2) >= wins) <= alpha (e.g. 4 wins and no loss: p = 1/16), or
- SSL wins more than it loses *and* the paired one-sided t-test on d_i = p_ssl(y_i | x_i) -
  p_sup(y_i | x_i), the probability each model gives the true class, has p_t <= alpha. This uses the
  examples both get right or both get wrong too (more power with few labels); the guard on wins keeps
  SSL's sharper predictions alone (entropy minimisation, pseudo-labels) from counting as a gain.

Otherwise it warns (``SSLCheckWarning``). alpha = 0.1 by default; two tests OR-ed make the false
"helps" rate somewhat above alpha.

With few labels the held-out set is small (N = labels × repeats), so the check is a coarse filter: a
warning means "no evidence that SSL helps here", not proof that it hurts. Models are trained on
(folds - 1)/folds of the labels, slightly fewer than the real run. Cost: 2 * folds * repeats short
trainings.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from semisup.config import ConfigError, RunConfig
from semisup.data.dataset import DataError, SSLDataset
from semisup.engine.callbacks import Callback
from semisup.engine.evaluate import predict_logits
from semisup.registry import ALGORITHMS


class SSLCheckWarning(UserWarning):
    """Issued by ``semisup.ssl_check`` when SSL is not ahead of supervised training beyond noise."""


@dataclass
class CheckResult:
    """What ``ssl_check`` measured. Accuracies are on the pooled held-out labeled examples (N = labels ×
    repeats)."""

    algorithm: str
    folds: int
    repeats: int
    steps: int
    n_heldout: int
    acc_supervised: float
    acc_ssl: float
    acc_diff: float  # acc_ssl - acc_supervised
    wins: int  # held-out examples SSL gets right and supervised wrong
    losses: int  # ... supervised right and SSL wrong
    p_value: float  # one-sided exact sign test of wins against losses
    p_t: float  # one-sided paired t-test of d_i (used only when wins > losses)
    alpha: float
    mean_diff: float  # mean of d_i = p_ssl(true class) - p_sup(true class)
    se_diff: float
    warn: bool
    message: str
    fold_acc_diff: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _HeldOutProba(Callback):
    """Keeps the evaluated model's class probabilities on the held-out inputs at the end of training."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.proba: np.ndarray | None = None

    def on_train_end(self, trainer: Any, summary: dict[str, Any]) -> None:
        X = torch.as_tensor(self.X, dtype=torch.float32, device=trainer.fabric.device)
        self.proba = torch.softmax(predict_logits(trainer.eval_model, X), -1).cpu().numpy()


class _Progress:
    """``check [i/n] <what> (<elapsed>s)`` on stderr: a line per training in logs, one rewritten line on a
    terminal (the check runs 2 x folds trainings and is otherwise silent for minutes)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.i = total, enabled, 0
        self.tty = sys.stderr.isatty()
        self.start = time.perf_counter()

    def __call__(self, what: str) -> None:
        self.i += 1
        if self.enabled:
            line = f"check [{self.i}/{self.total}] {what} ({time.perf_counter() - self.start:.0f}s elapsed)"
            print(
                f"\r\033[K{line}" if self.tty else line,
                end="" if self.tty else "\n",
                file=sys.stderr,
                flush=True,
            )

    def done(self) -> None:
        if self.enabled and self.tty:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def short_run_config(d: dict[str, Any], algorithm: str | None, steps: int) -> RunConfig:
    """A quiet ``steps``-step run of config dict ``d`` (evaluated and checkpointed once, no check, no
    plots); ``algorithm`` replaces ``d``'s algorithm with its paper defaults (None keeps ``d``'s)."""
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in d.items()}
    if algorithm is not None:
        d["algorithm"] = {"name": algorithm}
    d["train"] = {
        **(d.get("train") or {}),
        "steps": steps,
        "eval_every": steps,
        "log_every": max(1, steps // 10),
        "checkpoint_every": steps,
        "progress": False,
        "check_ssl": False,
        "plots": False,
    }
    return RunConfig.from_dict(d)


def _fold_config(cfg: RunConfig, algorithm: str, steps: int) -> RunConfig:
    return short_run_config(cfg.to_dict(), None if algorithm == cfg.algorithm else algorithm, steps)


def _fold_data(data: SSLDataset, held: np.ndarray) -> SSLDataset:
    keep = np.setdiff1d(np.arange(len(data.X)), held)
    return SSLDataset(
        X=data.X[keep],
        y=data.y[keep],
        classes=data.classes,
        kind=data.kind,
        X_test=data.X[held],
        y_test=data.y[held],
        y_true=None if data.y_true is None else data.y_true[keep],
        name=f"{data.name} (check fold)",
        columns=data.columns,
        categories=data.categories,
    )


def decide(
    wins: int, losses: int, mean_diff: float, se_diff: float, n: int, alpha: float = 0.1
) -> tuple[float, float, bool]:
    """(p_sign, p_t, SSL ahead beyond noise) from the pooled held-out comparison (module docstring).

    Args:
        wins, losses: held-out examples only SSL / only supervised gets right.
        mean_diff, se_diff: mean and standard error of d_i = p_ssl(true class) - p_sup(true class).
        n: held-out examples.
    """
    from scipy import stats

    p_sign = 1.0
    if wins + losses:
        p_sign = float(stats.binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue)
    p_t = 0.0 if mean_diff > 0 else 1.0  # all d_i equal: no noise
    if se_diff > 0:
        p_t = float(stats.t.sf(mean_diff / se_diff, n - 1))
    return p_sign, p_t, p_sign <= alpha or (wins > losses and p_t <= alpha)


def ssl_check(
    cfg: RunConfig,
    folds: int = 4,
    steps: int | None = None,
    repeats: int = 1,
    data: SSLDataset | None = None,
    alpha: float = 0.1,
    verbose: bool = True,
    progress: bool | None = None,
) -> CheckResult:
    """Estimate by ``folds``-fold cross-validation on the labeled examples whether ``cfg.algorithm``
    beats ``supervised`` on this data; warn (``SSLCheckWarning``) when it is not ahead beyond noise.

    Args:
        cfg: the SSL run to check (its data, net, optimizer and algorithm settings are used).
        folds: stratified folds of the labeled examples (2 <= folds <= labels of the rarest class).
        steps: training steps per fold and model; ``None``: min(cfg.train.steps, 300).
        repeats: repeat the k-fold split with new shuffles (each labeled example is then held out
            ``repeats`` times, by differently trained models): more pairs, ``repeats`` times the cost.
        data: the data set, if not ``load_dataset(cfg.data, cfg.seed)``.
        alpha: level of the one-sided tests (see ``decide``).
        verbose: print the verdict.
        progress: report each short training on stderr as it starts (fold, model, elapsed time): one
            line each when stderr is not a terminal (logs), else one line rewritten. None: ``verbose``.
    Returns:
        A ``CheckResult``; ``result.warn`` is True when the warning fired.
    Raises:
        ConfigError: ``cfg.algorithm`` is not semi-supervised, or bad ``folds``/``steps``.
        DataError: a class has fewer labeled examples than ``folds``.

    Example:
        >>> cfg = RunConfig.from_dict({"algorithm": "pi_model", "data": {"name": "moons"}})
        >>> semisup.ssl_check(cfg, folds=4, steps=300).warn       # doctest: +SKIP
        False
    """
    from sklearn.model_selection import RepeatedStratifiedKFold

    from semisup.data.load import load_dataset
    from semisup.run import fit

    if not ALGORITHMS.get(cfg.algorithm).unlabeled_views:
        raise ConfigError(
            f"{cfg.algorithm!r} uses no unlabeled data: the check compares an SSL algorithm (e.g. "
            "fixmatch, pi_model) with supervised training"
        )
    steps = min(cfg.train.steps, 300) if steps is None else steps
    if folds < 2 or steps < 1 or repeats < 1:
        raise ConfigError(
            f"the check needs folds >= 2, steps >= 1, repeats >= 1; got {folds}, {steps}, {repeats}"
        )
    data = (load_dataset(cfg.data, cfg.seed) if data is None else data).validate()
    lab = np.flatnonzero(data.y >= 0)
    counts = np.bincount(data.y[lab], minlength=data.num_classes)
    rarest = int(counts[counts > 0].min())
    if rarest < folds:
        raise DataError(
            f"the check holds out 1/{folds} of each class's labels, but a class has only {rarest} labeled "
            f"example(s); use folds <= {rarest} (at least 2) or label more examples"
        )
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=cfg.seed)
    report = _Progress(2 * folds * repeats, verbose if progress is None else progress)
    p_true = {"supervised": [], "ssl": []}
    right = {"supervised": [], "ssl": []}
    fold_diff = []
    for k, (_, held_pos) in enumerate(splitter.split(lab, data.y[lab])):
        held = lab[held_pos]
        fold = _fold_data(data, held)
        y_held = data.y[held]
        acc = {}
        for key, algorithm in (("supervised", "supervised"), ("ssl", cfg.algorithm)):
            report(f"fold {k + 1}/{folds * repeats}: {algorithm}, {steps} steps")
            probe = _HeldOutProba(fold.X_test)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit(_fold_config(cfg, algorithm, steps), None, data=fold, callbacks=[probe])
            assert probe.proba is not None
            p_true[key].append(probe.proba[np.arange(len(held)), y_held])
            right[key].append(probe.proba.argmax(1) == y_held)
            acc[key] = float(right[key][-1].mean())
        fold_diff.append(acc["ssl"] - acc["supervised"])
    report.done()
    d = np.concatenate(p_true["ssl"]) - np.concatenate(p_true["supervised"])
    r_sup, r_ssl = np.concatenate(right["supervised"]), np.concatenate(right["ssl"])
    n = len(d)
    se = float(d.std(ddof=1) / math.sqrt(n))
    mean = float(d.mean())
    acc_sup, acc_ssl = float(r_sup.mean()), float(r_ssl.mean())
    wins, losses = int((r_ssl & ~r_sup).sum()), int((r_sup & ~r_ssl).sum())
    p, p_t, helps = decide(wins, losses, mean, se, n, alpha)
    warn = not helps
    reps = f" x {repeats}" if repeats > 1 else ""
    numbers = (
        f"{cfg.algorithm} vs supervised on {n} held-out labeled examples "
        f"({folds} folds{reps}, {steps} steps): "
        f"accuracy {100 * acc_ssl:.1f}% vs {100 * acc_sup:.1f}% ({wins} better, {losses} worse: "
        f"sign test p = {p:.3g}); p(true class) {mean:+.3f} ± {se:.3f} (t-test p = {p_t:.3g}); "
        f"alpha = {alpha:g}"
    )
    if not warn:
        message = f"SSL likely helps here: {numbers}"
    else:
        why = "is behind" if wins < losses else "ties" if wins == losses else "is not ahead beyond noise"
        message = (
            f"SSL likely does not help here: {cfg.algorithm} {why}. {numbers}. Consider supervised "
            "training, or fixing the unlabeled data (classes the labels never mention, a different "
            "distribution) or the algorithm's settings (augmentation, threshold) first"
        )
    result = CheckResult(
        cfg.algorithm, folds, repeats, steps, n, acc_sup, acc_ssl, acc_ssl - acc_sup, wins, losses,
        p, p_t, alpha, mean, se, warn, message, fold_diff,
    )  # fmt: skip
    if warn:
        warnings.warn(message, SSLCheckWarning, stacklevel=2)
    if verbose:
        print(message, flush=True)
    return result
