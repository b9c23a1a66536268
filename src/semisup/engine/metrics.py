"""Averaging logged values over steps without a host sync per step, and the run's ``metrics.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

from torch import Tensor

LogValue = Tensor | float | tuple[Tensor, Tensor]


class Meter:
    """Running means of named values. A ``(numerator, denominator)`` pair is averaged as a ratio
    (e.g. pseudo-label accuracy over the examples that had a known label)."""

    def __init__(self) -> None:
        self.sums: dict[str, list] = {}

    def add(self, logs: dict[str, LogValue]) -> None:
        for k, v in logs.items():
            num, den = v if isinstance(v, tuple) else (v, 1.0)
            if k in self.sums:
                self.sums[k][0] = self.sums[k][0] + num
                self.sums[k][1] = self.sums[k][1] + den
            else:
                self.sums[k] = [num, den]

    def compute(self) -> dict[str, float]:
        """Means so far (one host sync for all values)."""
        out = {}
        for k, (num, den) in self.sums.items():
            num, den = float(num), float(den)
            if den > 0:
                out[k] = num / den
        return out

    def reset(self) -> None:
        self.sums = {}

    def state_dict(self) -> dict[str, list]:
        # Keep tensors as tensors (same dtype) so a resumed run sums exactly as the original did.
        return {k: [_cpu(n), _cpu(d)] for k, (n, d) in self.sums.items()}

    def load_state_dict(self, state: dict[str, list]) -> None:
        self.sums = {k: [n, d] for k, (n, d) in state.items()}


class MetricsCSV:
    """``metrics.csv``: one row per log or evaluation step; columns grow as new names appear."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] = ["step"]
        self.rows: list[dict[str, float]] = []
        if path.exists():
            with path.open(newline="") as f:
                reader = csv.DictReader(f)
                self.columns = list(reader.fieldnames or ["step"])
                self.rows = [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in reader]

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (written after the checkpoint a resumed run starts from)."""
        self.rows = [r for r in self.rows if r["step"] <= step]
        self._rewrite()

    def write(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **values}
        if self.rows and self.rows[-1]["step"] == step:  # log and eval on the same step share a row
            self.rows[-1].update(row)
            row = self.rows[-1]
        else:
            self.rows.append(row)
        if any(k not in self.columns for k in row):
            self.columns += [k for k in row if k not in self.columns]
        self._rewrite()

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.columns)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: _fmt(r.get(k)) for k in self.columns})
        tmp.replace(self.path)


def _cpu(v: Tensor | float) -> Tensor | float:
    return v.detach().cpu() if isinstance(v, Tensor) else v


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"
