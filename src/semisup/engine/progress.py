"""The rich progress bar: step, loss parts, mask ratio, accuracy, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

SHOWN = {
    "train/loss": "loss",
    "train/sup_loss": "sup",
    "train/unsup_loss": "unsup",
    "train/mask_ratio": "mask",
    "train/pseudo_acc": "pl_acc",
    "val/acc": "val_acc",
}


class ProgressBar:
    def __init__(self, total: int, start: int, description: str, enabled: bool) -> None:
        self.enabled = enabled
        self.shown: dict[str, float] = {}
        if not enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task(description, total=total, completed=start, info="")
        self.progress.start()

    def update(self, step: int, values: dict[str, float] | None = None) -> None:
        if not self.enabled:
            return
        if values:
            self.shown.update({SHOWN[k]: v for k, v in values.items() if k in SHOWN})
        info = " ".join(f"{k}={v:.3f}" for k, v in self.shown.items())
        self.progress.update(self.task, completed=step, info=info)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()
