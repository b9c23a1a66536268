"""Recall of the IVF self-join (semisup.classic.ann) against the exact search, and its CPU time.

Data: the issue-5 ``make_classification`` (20 features, 10 informative, 5 classes, class_sep=2). Exact
neighbours of a random sample of ``--queries`` points come from faiss's brute-force ``IndexFlatL2``;
recall@k is the share of them the approximate search also returns.

    python benchmarks/classic_ann_recall.py --n 200000 --settings 256:4 256:8 256:16 512:8 512:16
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from classic_scale import make_data  # noqa: E402


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv=None) -> None:
    import faiss

    from semisup.classic.ann import ivf_self_knn

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--settings", nargs="+", default=["256:16"], help="cell_size:n_probe")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    X, _, _ = make_data(args.n, 0.1, 0)
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    q = np.random.default_rng(0).choice(args.n, args.queries, replace=False)
    flat = faiss.IndexFlatL2(Xf.shape[1])
    flat.add(Xf)
    _, exact = flat.search(Xf[q], args.k + 1)
    exact_sets = [set(row[row != i][: args.k]) for row, i in zip(exact, q, strict=True)]
    for setting in args.settings:
        cell_size, n_probe = (int(v) for v in setting.split(":"))
        t0, c0 = time.perf_counter(), _cpu_s()
        _, ind = ivf_self_knn(X, args.k, cell_size=cell_size, n_probe=n_probe, n_threads=args.threads)
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
        recall = np.mean([len(s & set(ind[i])) / args.k for s, i in zip(exact_sets, q, strict=True)])
        row = {"n": args.n, "cell_size": cell_size, "n_probe": n_probe, "recall": round(float(recall), 4)}
        print(json.dumps({**row, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}), flush=True)


if __name__ == "__main__":
    main()
