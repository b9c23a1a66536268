"""Progress of a run: a rich bar on a terminal, plain lines every few seconds otherwise.

On a terminal the bar keeps the step, elapsed time and ETA whatever the width (80 columns included): the
loss parts are the column that shrinks. Off a terminal (output piped to a file, a batch job) a plain line
is printed every ``PLAIN_EVERY`` seconds and at the end, so a log never sits empty for a long run.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

SHOWN = {
    "train/loss": "loss",
    "train/sup_loss": "sup",
    "train/unsup_loss": "unsup",
    "train/mask_ratio": "mask",
    "train/pseudo_acc": "pl_acc",
    "val/acc": "val_acc",
}
PLAIN_EVERY = 10.0  # seconds between plain progress lines off a terminal


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class ProgressBar:
    def __init__(
        self,
        total: int,
        start: int,
        description: str,
        enabled: bool,
        console: Console | None = None,
        plain_file: TextIO | None = None,
    ) -> None:
        self.enabled, self.total, self.start, self.description = enabled, total, start, description
        self.shown: dict[str, float] = {}
        if not enabled:
            return
        console = console or Console(stderr=True)
        self.plain = not console.is_terminal
        self.file = plain_file or sys.stderr
        self.t0 = self.last = time.perf_counter()
        self.step = start
        if self.plain:
            return
        fixed = {"table_column": Column(no_wrap=True)}
        self.progress = Progress(
            TextColumn("[bold]{task.description}", **fixed),
            BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=5)),
            MofNCompleteColumn(**fixed),
            TimeElapsedColumn(**fixed),
            TextColumn("eta", **fixed),
            TimeRemainingColumn(**fixed),
            # the loss parts shrink (ellipsis) before anything else does
            TextColumn(
                "{task.fields[info]}", table_column=Column(ratio=3, no_wrap=True, overflow="ellipsis")
            ),
            console=console,
            expand=True,
        )
        self.task = self.progress.add_task(description, total=total, completed=start, info="")
        self.progress.start()

    def _info(self) -> str:
        return " ".join(f"{k}={v:.3f}" for k, v in self.shown.items())

    def plain_line(self) -> str:
        """``fixmatch step 250/1,000 (25%) 0:00:31 eta 0:01:33 loss=0.412 ...``"""
        elapsed = time.perf_counter() - self.t0
        done = self.step - self.start
        eta = elapsed / done * (self.total - self.step) if done > 0 else 0.0
        pct = 100 * self.step / max(self.total, 1)
        return (
            f"{self.description} step {self.step:,}/{self.total:,} ({pct:.0f}%) {_clock(elapsed)} "
            f"eta {_clock(eta)} {self._info()}".rstrip()
        )

    def update(self, step: int, values: dict[str, float] | None = None) -> None:
        if not self.enabled:
            return
        if values:
            self.shown.update({SHOWN[k]: v for k, v in values.items() if k in SHOWN})
        self.step = step
        if self.plain:
            now = time.perf_counter()
            if now - self.last >= PLAIN_EVERY:
                self.last = now
                print(self.plain_line(), file=self.file, flush=True)
            return
        self.progress.update(self.task, completed=step, info=self._info())

    def close(self) -> None:
        if not self.enabled:
            return
        if self.plain:
            print(self.plain_line(), file=self.file, flush=True)
        else:
            self.progress.stop()
