"""Run a benchmark grid: build every variant at each grid point, time them interleaved."""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import statistics
from typing import Any

import torch
from tqdm import tqdm

from rnnkit import __version__
from rnnkit.bench.configs import CONFIGS, CellConfig
from rnnkit.bench.device import device_description, device_slug
from rnnkit.bench.grid import DTYPES, BenchGrid, GridPoint
from rnnkit.bench.report import Row, add_ratios
from rnnkit.bench.timing import failure_reason, synchronizer, time_interleaved
from rnnkit.bench.variants import VARIANTS, Runner, Variant
from rnnkit.ops import describe

Key = tuple[str, str]  # (configuration, variant)


def run_bench(grid: BenchGrid, *, progress: bool = False) -> dict[str, Any]:
    """Time every configuration × variant at every point of ``grid``.

    Returns one JSON-ready dict: the device, versions, date, the grid, the variants' descriptions
    and ``rows`` (one per configuration × variant × grid point, ``status`` "ok" with
    ``median_ms``, ``min_ms``, ``vs_loop``, ``vs_native``, or "skipped" with its ``reason``).
    """
    if grid.device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"run_bench: device 'cuda' asked for, but torch {torch.__version__} sees no GPU"
        )
    rows: list[Row] = []
    for point in tqdm(grid.points(), desc="bench", unit="size", disable=not progress):
        rows += bench_point(grid, point)
    return {
        "device": device_description(grid.device),
        "device_slug": device_slug(grid.device),
        "rnnkit": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "step_kernels": step_kernels(grid.device),
        "step_products": step_products(grid.device),
        "date": dt.date.today().isoformat(),
        "command": grid.command(),
        "grid": dataclasses.asdict(grid),
        "variants": {name: VARIANTS[name].description for name in VARIANTS},
        "rows": add_ratios(rows),
    }


def step_kernels(device: str) -> str:
    """What runs the fused ops' per-step element-wise work on ``device`` (float32), and why
    not the kernels where they are unavailable (:func:`rnnkit.ops.describe`)."""
    kernels = describe(device)["step_kernels"]
    if kernels["impl"] == "c":
        return f"C kernels ({kernels['module']})"
    if kernels["impl"] == "triton":
        return f"Triton kernels ({kernels['module']})"
    return f"torch ops ({kernels['reason']})"


def step_products(device: str) -> str:
    """What runs the fused ops' per-step matrix products on ``device`` (float32)
    (:func:`rnnkit.ops.describe`)."""
    products = describe(device)["step_products"]
    if products["impl"] == "onednn":
        sizes = products["onednn_from"]
        return (
            f"oneDNN, weights packed once, from H {sizes['size']}, batch {sizes['batch']} and T "
            f"{sizes['steps']}; torch (MKL) below"
        )
    if device != "cpu":
        return f"torch ({products['library']})"
    return f"torch ({products['library']}; {products['reason']})"


def bench_point(grid: BenchGrid, point: GridPoint) -> list[Row]:
    """One row per configuration × variant at ``point``, every variant timed interleaved."""
    keys, runners, skipped = _build_runners(grid, point)
    x = torch.randn(
        point.steps, point.batch, point.hidden, device=grid.device, dtype=DTYPES[point.dtype]
    )  # (T, B, H)
    seconds, failed = time_interleaved(
        runners, x, train=point.mode == "train", repeats=grid.repeats, warmup=grid.warmup,
        sync=synchronizer(grid.device),
    )  # fmt: skip
    skipped.update(failed)
    return [_row(point, key, seconds.get(key, []), skipped.get(key)) for key in keys]


def _build_runners(
    grid: BenchGrid, point: GridPoint
) -> tuple[list[Key], dict[Key, Runner], dict[Key, str]]:
    """Every (configuration, variant) of the plan at ``point``: all keys in report order, the
    runners built, and the reason for each one not built."""
    left_out = dict(grid.left_out)
    unsupported = _unsupported_dtype(grid.device, point.dtype)
    if "compiled-loop" in grid.variants and "compiled-loop" not in left_out:
        import torch._dynamo as dynamo  # one compilation per cell at this size, none left over

        dynamo.reset()
    torch.manual_seed(0)
    keys: list[Key] = []
    runners: dict[Key, Runner] = {}
    skipped: dict[Key, str] = {}
    for config, variants in _plan(grid):
        layer = config.layer(
            point.hidden, backend="loop", device=torch.device(grid.device),
            dtype=DTYPES[point.dtype],
        )  # fmt: skip
        for variant in variants:
            key = (config.name, variant.name)
            keys.append(key)
            if variant.name in left_out or unsupported:
                skipped[key] = left_out.get(variant.name) or str(unsupported)
                continue
            if variant.forward_only and point.mode == "train":
                skipped[key] = "forward only: an inference kernel"
                continue
            try:
                runners[key] = variant.build(config, layer, compile_backend=grid.compile_backend)
            except Exception as exc:  # e.g. TorchScript or torch.compile missing: reported
                skipped[key] = failure_reason(exc)
    return keys, runners, skipped


def _row(point: GridPoint, key: Key, seconds: list[float], reason: str | None) -> Row:
    """The result row of one (configuration, variant) at ``point``, ratios not yet added."""
    row: Row = {"config": key[0], "variant": key[1], **point._asdict()}
    if not seconds:
        return {
            **row, "status": "skipped", "reason": reason or "no timed round", "median_ms": None,
            "min_ms": None, "repeats": 0,
        }  # fmt: skip
    times_ms = [1000 * s for s in seconds]
    return {
        **row, "status": "ok", "reason": None, "median_ms": round(statistics.median(times_ms), 4),
        "min_ms": round(min(times_ms), 4), "repeats": len(times_ms),
    }  # fmt: skip


def _plan(grid: BenchGrid) -> list[tuple[CellConfig, list[Variant]]]:
    """Each configuration with its variants in registry order, plus torch's layer of the plain
    cell that a peephole LSTM or reset-before GRU is read against, if not there already."""
    names = [n for n in VARIANTS if n in grid.variants or n in dict(grid.left_out)]
    plan = [
        (config, [VARIANTS[n] for n in names if VARIANTS[n].supports(config)])
        for config in (CONFIGS[name] for name in grid.configs)
    ]
    if "native" in grid.variants:
        for reference in dict.fromkeys(CONFIGS[name].reference for name in grid.configs):
            if reference not in grid.configs:
                plan.append((CONFIGS[reference], [VARIANTS["native"]]))
    return plan


def _unsupported_dtype(device: str, dtype: str) -> str | None:
    """Why ``dtype`` cannot run on ``device`` at all, or None."""
    if dtype == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
        return "bf16: this GPU does not support bfloat16"
    return None
