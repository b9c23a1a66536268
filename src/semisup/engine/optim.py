"""Optimizer and learning-rate schedule from ``OptimConfig``."""

from __future__ import annotations

import math

import torch
from torch import nn

from semisup.config import ConfigError, OptimConfig


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weights only: biases and normalisation parameters (1-D tensors) are exempt,
    as in FixMatch's reference code."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.weight_decay)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)
    raise ConfigError(f"unknown optim.name {cfg.name!r}: choose 'sgd' or 'adamw'")


def lr_factor(step: int, total: int, cfg: OptimConfig) -> float:
    """Linear warm-up, then FixMatch's cosine: cos(7π·k / (16·K)) (ends at ≈0.2 of the peak)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "cosine":
        k, K = step - cfg.warmup_steps, max(1, total - cfg.warmup_steps)
        return math.cos(7 * math.pi * k / (16 * K))
    raise ConfigError(f"unknown optim.schedule {cfg.schedule!r}: choose 'cosine' or 'constant'")


def build_scheduler(
    opt: torch.optim.Optimizer, total: int, cfg: OptimConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    lr_factor(0, total, cfg)  # fail on a bad schedule name now, not at the first step
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(k, total, cfg))
