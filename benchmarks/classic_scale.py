"""Graph label inference at scale: semisup.classic vs scikit-learn's kNN LabelSpreading, side by side.

Data (issue 5): ``make_classification(n_samples=N, n_features=20, n_informative=10, n_classes=5,
class_sep=2)``; a random ``10 %`` and ``1 %`` of the points keep their label (at least one per class).
For every (N, labeled fraction, method) one fresh subprocess generates the data, fits, and reports

- ``fit_s``: wall time of ``fit`` (graph + solve), and ``cpu_s``, the CPU time (user + system, all
  threads) the fit took: on a shared machine wall time grows with the other jobs' load, CPU time much less,
- ``peak_rss_mib``: the process's peak resident memory (``resource.getrusage``), and ``fit_rss_mib``, how
  much ``fit`` raised it above the peak after data generation (0 if it stayed below that peak),
- ``tracemalloc_mib`` (with ``--tracemalloc``; slows the fit): peak of Python/numpy allocations in ``fit``,
- ``acc_unlabeled``: accuracy of ``transduction_`` on the points whose label was hidden.

Usage::

    python benchmarks/classic_scale.py --sizes 10000 50000 200000 1000000 --threads 2 \\
        --out benchmarks/results/classic_scale.jsonl

``--sklearn-max-n`` skips scikit-learn above a size (its kNN graph build grows as N^2 with brute force).
A run that exceeds ``--timeout`` seconds or crashes (e.g. out of memory) is recorded with its error.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

METHODS = (
    "ours_spreading",
    "ours_propagation",
    "sklearn_knn_spreading",
    "sklearn_rbf_spreading",
    "ours_spreading_exact",  # our spreading on the exact kNN graph: what the approximate graph costs
)

#: scikit-learn's RBF LabelSpreading holds about three dense N x N float64 matrices
RBF_BYTES_PER_PAIR = 3 * 8


def _rss_mib() -> float:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def make_data(n: int, frac: float, seed: int):
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n, n_features=20, n_informative=10, n_classes=5, class_sep=2, random_state=seed
    )
    rng = np.random.default_rng(seed)
    y_part = np.full(n, -1)
    keep = rng.choice(n, max(int(round(frac * n)), 5), replace=False)
    y_part[keep] = y[keep]
    for c in range(5):  # at least one label per class
        if not (y_part == c).any():
            i = np.flatnonzero(y == c)[0]
            y_part[i] = c
    return X, y, y_part


def build(method: str, n_neighbors: int, n_jobs: int | None):
    if method == "ours_spreading":
        from semisup.classic import LabelSpreading

        return LabelSpreading(n_neighbors=n_neighbors, n_jobs=n_jobs, max_memory=None)
    if method == "ours_spreading_exact":
        from semisup.classic import LabelSpreading

        return LabelSpreading(n_neighbors=n_neighbors, n_jobs=n_jobs, max_memory=None, approximate=False)
    if method == "ours_propagation":
        from semisup.classic import LabelPropagation

        return LabelPropagation(n_neighbors=n_neighbors, n_jobs=n_jobs, max_memory=None)
    if method == "sklearn_knn_spreading":
        from sklearn.semi_supervised import LabelSpreading

        return LabelSpreading(kernel="knn", n_jobs=n_jobs)  # its defaults: 7 neighbours, alpha 0.2
    if method == "sklearn_rbf_spreading":
        from sklearn.semi_supervised import LabelSpreading

        return LabelSpreading(kernel="rbf", n_jobs=n_jobs)  # its defaults: gamma 20, alpha 0.2
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def run_one(method: str, n: int, frac: float, seed: int, n_neighbors: int, n_jobs, use_tracemalloc: bool):
    """Runs in the child process; returns one result row."""
    import warnings

    X, y, y_part = make_data(n, frac, seed)
    model = build(method, n_neighbors, n_jobs)
    rss_before = _rss_mib()
    if use_tracemalloc:
        import tracemalloc

        tracemalloc.start()
    t0, c0 = time.perf_counter(), _cpu_s()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y_part)
    fit_s, cpu_s = time.perf_counter() - t0, _cpu_s() - c0
    row = {}
    if use_tracemalloc:
        import tracemalloc

        row["tracemalloc_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    peak = _rss_mib()
    u = y_part == -1
    row.update(
        method=method,
        n=n,
        labeled_frac=frac,
        seed=seed,
        fit_s=round(fit_s, 3),
        cpu_s=round(cpu_s, 3),
        load_avg=round(os.getloadavg()[0], 2),
        peak_rss_mib=round(peak, 1),
        fit_rss_mib=round(max(0.0, peak - rss_before), 1),
        acc_unlabeled=round(float((model.transduction_[u] == y[u]).mean()), 4),
        n_iter=int(getattr(model, "n_iter_", -1)),
        warnings=sorted({type(w.message).__name__ for w in caught}),
    )
    return row


def markdown(rows: list[dict]) -> str:
    head = "| N | labeled | method | fit (s) | CPU (s) | peak RSS (MiB) | fit +RSS (MiB) | acc | iter |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['n']} | {r['labeled_frac']:.0%} | {r['method']} | {r['error']} | | | | | |")
            continue
        lines.append(
            f"| {r['n']} | {r['labeled_frac']:.0%} | {r['method']} | {r['fit_s']:.2f} | {r['cpu_s']:.2f} "
            f"| {r['peak_rss_mib']:.0f} | {r['fit_rss_mib']:.0f} "
            f"| {100 * r['acc_unlabeled']:.2f} | {r['n_iter']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000, 1_000_000])
    p.add_argument("--labeled", type=float, nargs="+", default=[0.1, 0.01])
    p.add_argument("--methods", nargs="+", default=list(METHODS[:4]), choices=METHODS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-neighbors", type=int, default=10, help="for our methods")
    p.add_argument("--n-jobs", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="OMP/BLAS threads in each child")
    p.add_argument("--sklearn-max-n", type=int, default=None, help="skip scikit-learn above this N")
    p.add_argument(
        "--rbf-max-bytes", type=float, default=8 * 2**30, help="skip sklearn's RBF above 3 N^2 * 8 bytes"
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--out", default=None, help="append result rows (JSON lines) here")
    p.add_argument("--child", nargs=3, metavar=("METHOD", "N", "FRAC"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        method, n, frac = args.child[0], int(args.child[1]), float(args.child[2])
        row = run_one(method, n, frac, args.seed, args.n_neighbors, args.n_jobs, args.tracemalloc)
        print("RESULT " + json.dumps(row))
        return

    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    rows = []

    def record(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    for n in args.sizes:
        for frac in args.labeled:
            for method in args.methods:
                base = {"method": method, "n": n, "labeled_frac": frac, "seed": args.seed}
                if method == "sklearn_knn_spreading" and args.sklearn_max_n and n > args.sklearn_max_n:
                    record({**base, "error": f"not run (N > --sklearn-max-n {args.sklearn_max_n})"})
                    continue
                need = RBF_BYTES_PER_PAIR * n * n
                if method == "sklearn_rbf_spreading" and need > args.rbf_max_bytes:
                    record({**base, "error": f"not run: needs ~{need / 2**30:.0f} GiB (3 N^2 float64)"})
                    continue
                cmd = [sys.executable, __file__, "--child", method, str(n), str(frac)]
                cmd += ["--seed", str(args.seed), "--n-neighbors", str(args.n_neighbors)]
                if args.n_jobs is not None:
                    cmd += ["--n-jobs", str(args.n_jobs)]
                if args.tracemalloc:
                    cmd.append("--tracemalloc")
                try:
                    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
                    found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                    if found:
                        row = json.loads(found[-1][len("RESULT ") :])
                    else:
                        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                        row = {**base, "error": f"exit {proc.returncode}: {tail[:120]}"}
                except subprocess.TimeoutExpired:
                    row = {**base, "error": f"timeout after {args.timeout:.0f} s"}
                record(row)
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
