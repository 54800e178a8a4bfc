"""Optimizers and learning-rate schedules by name, as the Trainer's config gives them.

A schedule sets the learning rate per optimizer step (:func:`lr_factor`, the warm-up included) and
per epoch (:func:`epoch_decay`, for ``plateau`` and ``step``, which are constant per step); the
two multiply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from rnnkit.training.ntasgd import NTASGD

OPTIMIZERS = ("adam", "adamw", "sgd", "ntasgd")
SCHEDULES = ("constant", "linear", "cosine", "onecycle", "plateau", "step")
EPOCH_SCHEDULES = ("plateau", "step")  # constant per step; the rate changes between epochs


def make_optimizer(
    params: Iterable[nn.Parameter],
    name: str,
    *,
    lr: float,
    weight_decay: float,
    momentum: float,
    nonmono: int = 5,
) -> torch.optim.Optimizer:
    """``adam`` (L2 weight decay), ``adamw`` (decoupled), ``sgd`` (with momentum) or ``ntasgd``
    (:class:`~rnnkit.training.ntasgd.NTASGD`: SGD, then averaged SGD after ``nonmono`` epochs
    without improvement)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "ntasgd":
        return NTASGD(params, lr=lr, weight_decay=weight_decay, nonmono=nonmono)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def lr_factor(step: int, *, total: int, warmup: int, kind: str) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    ``constant``: 1 after a linear warm-up. ``linear``: warm-up, then linear decay to 0.
    ``cosine``: warm-up, then half a cosine to 0. ``onecycle``: from 1/25 of the peak up along half
    a cosine to the peak at the warm-up's last step, then down to 1/10⁴ of it at the last step
    (Smith & Topin 2019; step for step torch's OneCycleLR). ``plateau`` and
    ``step``: as ``constant``; :func:`epoch_decay` changes their rate between epochs.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {kind!r}")
    if kind == "onecycle":
        start, end = 1 / 25, 1 / 25 / 1e4
        peak = max(0, warmup - 1)  # as torch's OneCycleLR: the warm-up's last step is the peak
        if step < peak:
            return start + (1 - start) * _cosine_ramp(step / peak)
        return end + (1 - end) * (1 - _cosine_ramp((step - peak) / max(1, total - 1 - peak)))
    if step < warmup:
        return (step + 1) / warmup
    if kind == "constant" or kind in EPOCH_SCHEDULES:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 1 - progress if kind == "linear" else 0.5 * (1 + math.cos(math.pi * progress))


def _cosine_ramp(x: float) -> float:
    """0 → 1 along half a cosine, for x in [0, 1]."""
    return 0.5 * (1 - math.cos(math.pi * min(1.0, x)))


def epoch_decay(kind: str, *, epochs_done: int, improved: bool, decay: float, after: int) -> float:
    """What the learning rate is multiplied by once ``epochs_done`` epochs (1-based) have ended.

    ``plateau``: ``decay`` after an epoch whose monitored value did not improve (pytorch/examples'
    word language model: divide by 4). ``step``: ``decay`` after every epoch from epoch ``after``
    on (Zaremba et al. 2014: lr 1, decay 0.5, after 4 runs epochs 1–4 at 1, 5 at 0.5, 6 at 0.25).
    Every other schedule: 1.
    """
    if kind == "plateau" and not improved:
        return decay
    if kind == "step" and epochs_done >= after:
        return decay
    return 1.0


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    kind: str,
    *,
    total_steps: int,
    warmup_fraction: float,
    scale: Callable[[], float] = lambda: 1.0,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler; its state dict holds only numbers, so it reloads without pickle.
    ``scale`` gives the epoch-level factor (kept by the caller), read at every step."""
    warmup = round(warmup_fraction * total_steps)
    lr_factor(0, total=total_steps, warmup=warmup, kind=kind)  # reject an unknown kind now
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: scale() * lr_factor(step, total=total_steps, warmup=warmup, kind=kind),
    )


def apply_lr(scheduler: torch.optim.lr_scheduler.LambdaLR) -> None:
    """Set the optimizer's rate for its next step again, after the epoch-level factor changed."""
    groups = scheduler.optimizer.param_groups
    for group, base, factor in zip(groups, scheduler.base_lrs, scheduler.lr_lambdas, strict=True):
        group["lr"] = base * factor(scheduler.last_epoch)
