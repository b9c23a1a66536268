"""Observers of training. A callback reads the trainer's state at named points and never steps
anything: the loop owns backward, the optimizer and the schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from semisup.data.batch import Batch
    from semisup.engine.trainer import Trainer


class Callback:
    """Override any of these; each receives the trainer (read-only by convention)."""

    def on_train_start(self, trainer: Trainer) -> None: ...

    def on_train_batch_end(
        self, trainer: Trainer, step: int, batch: Batch, loss: Tensor, logs: dict[str, Any]
    ) -> None: ...

    def on_log(self, trainer: Trainer, step: int, values: dict[str, float]) -> None: ...

    def on_validation_end(self, trainer: Trainer, step: int, metrics: dict[str, float]) -> None: ...

    def on_checkpoint(self, trainer: Trainer, step: int, path: str) -> None: ...

    def on_train_end(self, trainer: Trainer, summary: dict[str, Any]) -> None: ...
