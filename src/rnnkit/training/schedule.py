"""Optimizers and learning-rate schedules by name, as the Trainer's config gives them."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine", "onecycle")


def make_optimizer(
    params: Iterable[nn.Parameter], name: str, *, lr: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    """``adam`` (L2 weight decay), ``adamw`` (decoupled) or ``sgd`` (with momentum)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def lr_factor(step: int, *, total: int, warmup: int, kind: str) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    ``constant``: 1 after a linear warm-up. ``linear``: warm-up, then linear decay to 0.
    ``cosine``: warm-up, then half a cosine to 0. ``onecycle``: warm-up from 1/25 of the peak, then
    cosine annealing to 1/10⁴ of it (Smith & Topin 2019, as torch's OneCycleLR).
    """
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {kind!r}")
    if kind == "onecycle":
        start, end = 1 / 25, 1 / 25 / 1e4
        if step < warmup:
            return start + (1 - start) * _cosine_ramp(step / warmup)
        return end + (1 - end) * (1 - _cosine_ramp((step - warmup) / max(1, total - warmup)))
    if step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 1 - progress if kind == "linear" else 0.5 * (1 + math.cos(math.pi * progress))


def _cosine_ramp(x: float) -> float:
    """0 → 1 along half a cosine, for x in [0, 1]."""
    return 0.5 * (1 - math.cos(math.pi * min(1.0, x)))


def make_scheduler(
    optimizer: torch.optim.Optimizer, kind: str, *, total_steps: int, warmup_fraction: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler; its state dict holds only numbers, so it reloads without pickle."""
    warmup = round(warmup_fraction * total_steps)
    lr_factor(0, total=total_steps, warmup=warmup, kind=kind)  # reject an unknown kind now
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total=total_steps, warmup=warmup, kind=kind)
    )
