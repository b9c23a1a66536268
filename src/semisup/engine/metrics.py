"""Averaging logged values over steps without a host sync per step, and the run's ``metrics.csv``."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from torch import Tensor

try:
    from lightning_fabric.loggers import Logger
except ImportError:  # machines that ship the full ``lightning`` package only
    from lightning.fabric.loggers import Logger

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


class MetricsCSV(Logger):
    """``metrics.csv`` as a Fabric logger: one row per log or evaluation step, appended at constant cost.

    A step's values are held until ``commit`` (the engine calls it once per step) or a later step, so
    a log and an evaluation at the same step share one row. The header is written with the first row:
    its keys plus ``columns`` declared up front (e.g. ``val/acc``, present only at evaluation steps).
    A key that is neither is added by rewriting the file once (the only non-constant cost; the engine
    declares its keys).

    Args:
        folder: the run folder; the file is ``folder/metrics.csv``.
        columns: columns that may appear after the first row.
    """

    FILE = "metrics.csv"

    def __init__(self, folder: str | Path, columns: Sequence[str] = ()) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.path = self.folder / self.FILE
        self.declared = [c for c in columns if c != "step"]
        self.columns: list[str] | None = None  # the header on disk; None until it is written
        self._pending: dict[str, float] | None = None
        self._file: TextIO | None = None

    @property
    def name(self) -> str:
        return "metrics"

    @property
    def version(self) -> str:
        return ""

    @property
    def root_dir(self) -> str:
        return str(self.folder)

    @property
    def log_dir(self) -> str:
        return str(self.folder)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: the run folder's ``config.yaml`` holds the resolved config."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if step is None:
            raise ValueError("MetricsCSV.log_metrics needs the step")
        values = {k: float(v) for k, v in metrics.items()}
        if self._pending is not None and self._pending["step"] == step:
            self._pending.update(values)
            return
        self.commit()
        self._pending = {"step": step, **values}

    def commit(self) -> None:
        """Write the held row (one line appended; the header too if it is the first), readable at once
        by ``semisup plot`` or ``tail`` while the run goes on."""
        row, self._pending = self._pending, None
        if row is not None:
            self._append(row)
            if self._file is not None:
                self._file.flush()

    def flush(self) -> dict[str, Any]:
        """Write the held row and flush to the OS; return the position a resume truncates back to."""
        self.commit()
        if self._file is not None:
            self._file.flush()
        size = self.path.stat().st_size if self.path.exists() else 0
        return {"offset": size, "columns": list(self.columns or [])}

    def save(self) -> None:
        self.flush()

    def finalize(self, status: str) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def resume(self, step: int, position: dict[str, Any] | None) -> None:
        """Drop the rows logged after ``step`` (after the checkpoint a resumed run starts from).

        ``position`` is what ``flush`` returned when that checkpoint was written: the file is cut at its
        byte offset. Without it (a checkpoint from an older version) or if the header changed since, the
        rows are read and rewritten once.
        """
        if not self.path.exists():
            return
        header = _read_header(self.path)
        ok = position is not None and 0 < position["offset"] <= self.path.stat().st_size
        if ok and position is not None and header == position["columns"]:
            os.truncate(self.path, position["offset"])
            self.columns = header
            return
        with self.path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if float(r["step"]) <= step]
        if rows or header:
            self.columns = header
            self._rewrite(rows)
        else:
            self.path.unlink()

    # ---- writing -------------------------------------------------------------------------------
    def _append(self, row: dict[str, float]) -> None:
        if self.columns is None:
            self.columns = ["step", *[k for k in row if k != "step"]]
            self.columns += [c for c in self.declared if c not in self.columns]
            self._open("w").write(_line(self.columns))
        elif any(k not in self.columns for k in row):
            self.columns += [k for k in row if k not in self.columns]
            if self._file is not None:
                self._file.flush()
            with self.path.open(newline="") as f:
                old = list(csv.DictReader(f))
            self._rewrite(old)
        self._open("a").write(_line([_fmt(row.get(c)) for c in self.columns]))

    def _open(self, mode: str) -> TextIO:
        if self._file is None or mode == "w":
            if self._file is not None:
                self._file.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open(mode, newline="")
        return self._file

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        assert self.columns is not None
        if self._file is not None:
            self._file.close()
            self._file = None
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            f.write(_line(self.columns))
            f.writelines(_line([r.get(c) or "" for c in self.columns]) for r in rows)
        tmp.replace(self.path)


def _line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    return buf.getvalue()


def _read_header(path: Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f), [])


def _cpu(v: Tensor | float) -> Tensor | float:
    return v.detach().cpu() if isinstance(v, Tensor) else v


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"
