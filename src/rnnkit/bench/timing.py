"""Timing: one call between device syncs, and variants interleaved in rotating rounds."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping
from typing import TypeVar

import torch
from torch import Tensor

from rnnkit.bench.variants import Runner

Key = TypeVar("Key", bound=Hashable)


def synchronizer(device: str) -> Callable[[], None]:
    """A function that waits for the device's queued work (``torch.cuda.synchronize`` on CUDA)."""
    return torch.cuda.synchronize if device == "cuda" else _no_sync


def _no_sync() -> None:
    """The CPU runs synchronously: nothing to wait for."""


def time_call(runner: Runner, x: Tensor, *, train: bool, sync: Callable[[], None]) -> float:
    """Seconds for one call on x (T, B, H): inference under ``torch.no_grad`` or, with ``train``,
    forward + backward of ``output.sum()`` (gradients cleared before, outside the timing)."""
    if train:
        for param in runner.module.parameters():
            param.grad = None
        sync()
        start = time.perf_counter()
        runner.run(x).sum().backward()
        sync()
        return time.perf_counter() - start
    with torch.no_grad():
        sync()
        start = time.perf_counter()
        runner.run(x)
        sync()
        return time.perf_counter() - start


def time_interleaved(
    runners: Mapping[Key, Runner],
    x: Tensor,
    *,
    train: bool,
    repeats: int,
    warmup: int,
    sync: Callable[[], None],
) -> tuple[dict[Key, list[float]], dict[Key, str]]:
    """Time every runner ``warmup + repeats`` rounds, all runners once per round in an order
    rotated each round (so load drift and position in a round hit all alike); the first
    ``warmup`` rounds are not kept.

    Returns (seconds per kept round, by key; the reason for each runner that raised, which
    runs no more).
    """
    keys = list(runners)
    seconds: dict[Key, list[float]] = {key: [] for key in keys}
    failed: dict[Key, str] = {}
    for runner in runners.values():
        runner.module.train(train)
    for round_ in range(warmup + repeats):
        shift = round_ % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            if key in failed:
                continue
            try:
                elapsed = time_call(runners[key], x, train=train, sync=sync)
            except Exception as exc:  # a variant this machine cannot run: reported, not fatal
                failed[key] = failure_reason(exc)
                seconds.pop(key)
                if x.is_cuda:
                    torch.cuda.empty_cache()
                continue
            if round_ >= warmup:
                seconds[key].append(elapsed)
    return seconds, failed


def failure_reason(exc: BaseException) -> str:
    """One line for the report: the exception's type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".strip().rstrip(":")
    return text if len(text) <= 200 else text[:197] + "..."
