"""Cross-validated choice among the candidates of a data kind (``--algorithm auto``).

Protocol (the same as ``semisup.check``, extended to several candidates): the labeled examples are split
into ``folds`` stratified folds (``repeats`` times, reshuffled); each fold is removed from the data
altogether, every candidate trains on the rest (labeled + unlabeled) and predicts the removed fold. Over
the pooled held-out examples each candidate gets an accuracy. The reference is the supervised baseline a
user would otherwise train: the run's own net, or for text embeddings logistic regression on them
(``candidates.py``; without deep candidates, the first classic supervised model). The best other
candidate (by accuracy, then mean probability of the true class) replaces it only when it is ahead
beyond noise by ``check.decide`` (one-sided sign test on the examples only one of the two gets right, or
the paired t-test on the true class's probability) at level ``alpha / (number of other candidates)``
(Bonferroni: the best of several is tested). So ``auto`` keeps supervised training unless SSL (or a
classic model) wins beyond noise: a noisy cross-validation never swaps the baseline for a model that
only looked better by chance.

Budget: with ``S`` the run's steps, deep SSL candidates get ``fold_steps`` each so that their fold runs
together cost at most ``2 S`` steps (supervised steps are several times cheaper, classic fits take
seconds). That step plan cannot see fixed costs (a run's start-up, self-training's repeated fits), so the
search also keeps time: after each fold, one run is estimated as ``S`` times the measured seconds per
deep SSL fold step, and when the folds left would take the whole search past ``SEARCH_BUDGET`` (3) such
runs, their deep candidates (supervised included, so the comparison stays like for like) run fewer steps
(``shrink_steps``; never under ``MIN_FOLD_STEPS``; said in ``auto.json``'s notes). The governor reads the
clock, so on a loaded machine two searches can differ; ``budget=None`` (``search``, ``auto_fit``) turns
it off for an exactly repeatable search. Fewer than 20 labels: the folds are repeated twice with half-
length runs, so the held-out comparison has more pairs. (Two folds for large labeled sets halve the
search but rank methods on half the labels: on 5 % of Rotten Tomatoes that put the mean teacher ahead of
logistic regression, which wins with all the labels — so 4 folds stay.)
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from semisup.auto.candidates import Candidate, candidates_for, fit_classic, proba_full
from semisup.data.dataset import SSLDataset

SSL_BUDGET = 2.0  # deep SSL fold steps, in units of one run's steps
SEARCH_BUDGET = 3.0  # the whole search, in units of one run's estimated time
MIN_FOLD_STEPS = 50


@dataclass
class AutoReport:
    """What the search measured and chose; written to ``auto.json``."""

    kind: str
    folds: int
    repeats: int
    fold_steps: int
    run_steps: int
    n_heldout: int
    candidates: list[dict[str, Any]]
    reference: str
    best_challenger: str | None
    choice: str
    choice_deep: bool
    reason: str
    wins: int = 0
    losses: int = 0
    p_sign: float = 1.0
    p_t: float = 1.0
    alpha: float = 0.1
    search_seconds: float = 0.0
    final_seconds: float | None = None
    steps_per_fold: list[int] = field(default_factory=list)
    run_seconds_estimate: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan(n_labeled: int, rarest: int, run_steps: int, n_deep_ssl: int) -> tuple[int, int, int]:
    """(folds, repeats, fold_steps) for the budget in the module docstring."""
    folds = max(2, min(4, rarest))
    repeats = 1 if n_labeled >= 20 else 2
    fold_steps = run_steps
    if n_deep_ssl:
        fold_steps = min(run_steps, int(SSL_BUDGET * run_steps / (n_deep_ssl * folds * repeats)))
    return folds, repeats, max(min(MIN_FOLD_STEPS, run_steps), fold_steps)


def shrink_steps(
    steps: int,
    folds_left: int,
    spent: float,
    fixed: float,
    deep: float,
    run_seconds: float,
    budget: float = SEARCH_BUDGET,
) -> int:
    """Deep fold steps for the ``folds_left`` remaining folds so that the search ends within
    ``budget * run_seconds``: ``spent`` seconds so far, and per fold ``fixed`` seconds of classic
    fits plus ``deep`` seconds of deep runs at ``steps`` steps (deep time taken as proportional to steps;
    the plan is redone after every fold, so a run's fixed start-up shows in the next fold's rate)."""
    if folds_left <= 0 or deep <= 0:
        return steps
    room = budget * run_seconds - spent - folds_left * fixed
    fit = int(steps * room / (folds_left * deep))
    return max(min(MIN_FOLD_STEPS, steps), min(steps, fit))


def decide_choice(
    P_ref: np.ndarray, P_best: np.ndarray, y: np.ndarray, alpha: float, n_challengers: int
) -> tuple[bool, int, int, float, float]:
    """(ahead, wins, losses, p_sign, p_t): is the challenger's held-out (N, C) probabilities ``P_best``
    ahead of the reference's ``P_ref`` beyond noise at level ``alpha / n_challengers`` (``check.decide``)."""
    from semisup.check import decide

    n, idx = len(y), np.arange(len(y))
    d = P_best[idx, y] - P_ref[idx, y]
    right_b, right_ref = P_best.argmax(1) == y, P_ref.argmax(1) == y
    wins, losses = int((right_b & ~right_ref).sum()), int((right_ref & ~right_b).sum())
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    p_sign, p_t, ahead = decide(wins, losses, float(d.mean()), se, n, alpha / n_challengers)
    return ahead, wins, losses, p_sign, p_t


def search(
    base: dict[str, Any],
    data: SSLDataset,
    run_steps: int,
    seed: int = 0,
    alpha: float = 0.1,
    deep: bool = True,
    classic: bool = True,
    verbose: bool = True,
    budget: float | None = SEARCH_BUDGET,
) -> AutoReport:
    """Cross-validate the candidates of ``data.kind`` and choose one (module docstring).

    Args:
        base: the run's config dict (``RunConfig.to_dict()`` form) without an algorithm; each deep
            candidate runs it with its own algorithm and paper defaults (``data.mu`` unset: the paper's).
        run_steps: steps of the final run (S); sets the search budget.
        budget: the search's time limit in estimated one-run times (None: no time governor).
    """
    from sklearn.model_selection import RepeatedStratifiedKFold

    from semisup.check import _fold_data, _HeldOutProba, short_run_config
    from semisup.run import fit

    t_start = time.perf_counter()
    cands = candidates_for(data.kind, deep=deep, classic=classic)
    lab = np.flatnonzero(data.y >= 0)
    counts = np.bincount(data.y[lab], minlength=data.num_classes)
    rarest = int(counts[counts > 0].min())
    n_deep_ssl = sum(c.deep and c.ssl for c in cands)
    folds, repeats, fold_steps = plan(len(lab), rarest, run_steps, n_deep_ssl)
    reference = next(c for c in cands if not c.ssl)
    if rarest < 2:
        return AutoReport(
            data.kind, 0, 0, 0, run_steps, 0, [], reference.label, None, reference.name, reference.deep,
            f"a class has only {rarest} labeled example: nothing to cross-validate, so no evidence that "
            "SSL helps; label at least 2 examples per class to let auto compare",
        )  # fmt: skip
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    splits = list(splitter.split(lab, data.y[lab]))
    probas: dict[Candidate, list[np.ndarray]] = {c: [] for c in cands}
    seconds: dict[Candidate, float] = {c: 0.0 for c in cands}
    y_held_all = []
    steps, steps_per_fold, run_seconds = fold_steps, [], None
    for i, (_, held_pos) in enumerate(splits, start=1):
        held = lab[held_pos]
        fold = _fold_data(data, held)
        y_held_all.append(data.y[held])
        fold_seconds: dict[Candidate, float] = {}
        for c in cands:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if c.deep:
                    probe = _HeldOutProba(fold.X_test)
                    fit(short_run_config(base, c.name, steps), None, data=fold, callbacks=[probe])
                    p = probe.proba
                else:
                    est = fit_classic(c.name, fold.X, fold.y, c.ssl, seed, data.kind)
                    p = proba_full(est, fold.X_test, data.num_classes)
            probas[c].append(p)
            fold_seconds[c] = time.perf_counter() - t0
            seconds[c] += fold_seconds[c]
            if verbose:
                acc = float((p.argmax(1) == data.y[held]).mean())
                elapsed = time.perf_counter() - t_start
                print(
                    f"auto: fold {i}/{len(splits)} {c.label:<28} {100 * acc:5.1f}%  ({elapsed:6.1f}s)",
                    flush=True,
                )
        steps_per_fold.append(steps)
        if n_deep_ssl and budget is not None:  # time governor (module docstring)
            if run_seconds is None:  # one run, from the first fold's seconds per deep SSL step
                ssl_s = sum(t for c, t in fold_seconds.items() if c.deep and c.ssl)
                run_seconds = ssl_s / (n_deep_ssl * steps) * run_steps
            deep_s = sum(t for c, t in fold_seconds.items() if c.deep)
            fixed_s = sum(t for c, t in fold_seconds.items() if not c.deep)
            spent = time.perf_counter() - t_start
            new = shrink_steps(steps, len(splits) - i, spent, fixed_s, deep_s, run_seconds, budget)
            if new < steps:
                steps = new
                if verbose:
                    print(f"auto: folds {i + 1}+ run {steps} steps (search within {budget:g}x one run "
                          f"of ~{run_seconds:.0f}s)", flush=True)  # fmt: skip
    y_held = np.concatenate(y_held_all)
    n = len(y_held)
    P = {c: np.concatenate(v) for c, v in probas.items()}
    acc = {c: float((P[c].argmax(1) == y_held).mean()) for c in cands}
    rows = [
        {
            "name": c.name,
            "deep": c.deep,
            "ssl": c.ssl,
            "accuracy": acc[c],
            "fold_accuracy": [
                float((p.argmax(1) == y).mean()) for p, y in zip(probas[c], y_held_all, strict=True)
            ],
            "seconds": round(seconds[c], 2),
        }
        for c in cands
    ]
    # The reference is the kind's supervised baseline (candidates_for puts it first); any other
    # candidate must beat it beyond noise. Ranking the challengers
    # by accuracy, then by the mean probability of the true class, breaks the frequent ties of few labels.
    reference, challengers = cands[0], cands[1:]
    p_true = {c: float(P[c][np.arange(n), y_held].mean()) for c in cands}
    report = AutoReport(
        data.kind, folds, repeats, fold_steps, run_steps, n, rows, reference.label, None,
        reference.name, reference.deep, "", alpha=alpha, steps_per_fold=steps_per_fold,
        run_seconds_estimate=None if run_seconds is None else round(run_seconds, 2),
    )  # fmt: skip
    if any(s < fold_steps for s in steps_per_fold):
        report.notes.append(
            f"deep fold runs shortened to {min(steps_per_fold)} steps (planned {fold_steps}) to keep the "
            f"search within {budget:g}x one run, estimated at {run_seconds:.1f}s"
        )
    if challengers:
        best = max(challengers, key=lambda c: (acc[c], p_true[c]))
        report.best_challenger = best.label
        level = alpha / len(challengers)
        ahead, wins, losses, p_sign, p_t = decide_choice(
            P[reference], P[best], y_held, alpha, len(challengers)
        )
        report.wins, report.losses, report.p_sign, report.p_t = wins, losses, p_sign, p_t
        numbers = (
            f"{best.label} {100 * acc[best]:.1f}% vs {reference.label} {100 * acc[reference]:.1f}% on {n} "
            f"held-out labels ({wins} better, {losses} worse; sign test p = {p_sign:.3g}, t-test p = "
            f"{p_t:.3g}; level {level:.3g} = {alpha:g} / {len(challengers)} candidates)"
        )
        if ahead:
            report.choice, report.choice_deep = best.name, best.deep
            report.reason = f"{best.label} is ahead of {reference.label} beyond noise: {numbers}"
        else:
            report.reason = f"no candidate is ahead of {reference.label} beyond noise: {numbers}"
    else:
        report.reason = f"no other candidate for this kind: {reference.label}"
    report.search_seconds = round(time.perf_counter() - t_start, 2)
    return report
