"""Exponential moving average of the weights, used for evaluation (FixMatch uses decay 0.999)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """Holds ``ema`` = d·ema + (1−d)·θ after each optimizer step; buffers (BN statistics) copied.

    d = min(decay, w(n)) after n updates, so a short run is not evaluated with weights still close to
    their initialisation: ``warmup="tf"`` gives w(n) = (1 + n)/(10 + n) (TensorFlow's ``num_updates``),
    ``"mean_teacher"`` w(n) = 1 − 1/(n + 2) (Tarvainen & Valpola's code). The copy never receives
    gradients (``requires_grad`` is off) and lives on the model's device.
    """

    WARMUPS = ("tf", "mean_teacher")

    def __init__(self, model: nn.Module, decay: float, warmup: str = "tf") -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {decay}")
        if warmup not in self.WARMUPS:
            raise ValueError(f"warmup must be one of {self.WARMUPS}, got {warmup!r}")
        self.decay, self.warmup = decay, warmup
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))
        # A host-side mirror of ``num_updates``: reading the buffer every step would sync the GPU.
        self._n: int | None = None
        self.register_load_state_dict_post_hook(lambda module, keys: setattr(module, "_n", None))

    def current_decay(self, decay: float | None = None) -> float:
        """The decay the next update uses; ``decay`` overrides the configured one (e.g. during a ramp-up)."""
        if self._n is None:
            self._n = int(self.num_updates)
        n = self._n
        cap = (1 + n) / (10 + n) if self.warmup == "tf" else 1.0 - 1.0 / (n + 2)
        return min(self.decay if decay is None else decay, cap)

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float | None = None) -> None:
        ema_p = [p for p in self.module.parameters()]
        src_p = [p.detach() for p in model.parameters()]
        # One fused call over all tensors instead of a Python loop of small kernels.
        torch._foreach_lerp_(ema_p, src_p, 1.0 - self.current_decay(decay))
        self._n = (self._n or 0) + 1
        self.num_updates.fill_(self._n)
        ema_b, src_b = list(self.module.buffers()), list(model.buffers())
        if ema_b:
            torch._foreach_copy_(ema_b, src_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)
