"""Training-step speed of rnnkit's backends against torch on the CPU.

Times forward + backward (sum of the output, then backward) of one layer for each variant in the
registry, interleaving the variants round-robin (in a rotating order) so that drift in machine load
and the position in a round hit all alike, and
reports medians and ratios measured in the same run. Writes ``benchmarks/results/cpu-<date>.md``
and ``.json`` and appends one line per variant × size to ``benchmarks/results/speed.jsonl``.

    python benchmarks/bench_cpu.py            # the default grid
    python benchmarks/bench_cpu.py --quick    # one small size, a few repeats (smoke run)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

import rnnkit
import rnnkit.ops.cpu
from rnnkit._machine import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Variant:
    """One thing to time: a cell configuration run by one implementation."""

    config: str  # e.g. "lstm-peephole"
    impl: str  # "torch.nn", "auto", "native", "fused", "loop"
    build: Callable[[int, int], torch.nn.Module]  # (input_size, hidden_size) -> layer
    c_kernels: bool = True  # False: the fused ops run their torch step classes instead


def _rnnkit(cls: type, backend: str, **options: object) -> Callable[[int, int], torch.nn.Module]:
    return lambda i, h: cls(i, h, backend=backend, **options)


VARIANTS = [
    Variant("lstm", "torch.nn", lambda i, h: torch.nn.LSTM(i, h)),
    Variant("lstm", "auto", _rnnkit(rnnkit.LSTM, "auto")),
    Variant("lstm", "fused", _rnnkit(rnnkit.LSTM, "fused")),
    Variant("lstm", "loop", _rnnkit(rnnkit.LSTM, "loop")),
    Variant("lstm-peephole", "fused", _rnnkit(rnnkit.LSTM, "fused", peephole=True)),
    Variant(
        "lstm-peephole", "fused, torch steps", _rnnkit(rnnkit.LSTM, "fused", peephole=True), False
    ),
    Variant("lstm-peephole", "loop", _rnnkit(rnnkit.LSTM, "loop", peephole=True)),
    Variant("gru", "torch.nn", lambda i, h: torch.nn.GRU(i, h)),
    Variant("gru", "auto", _rnnkit(rnnkit.GRU, "auto")),
    Variant("gru", "fused", _rnnkit(rnnkit.GRU, "fused")),
    Variant("gru", "loop", _rnnkit(rnnkit.GRU, "loop")),
    Variant("gru-reset-before", "fused", _rnnkit(rnnkit.GRU, "fused", reset_after=False)),
    Variant(
        "gru-reset-before",
        "fused, torch steps",
        _rnnkit(rnnkit.GRU, "fused", reset_after=False),
        False,
    ),
    Variant("gru-reset-before", "loop", _rnnkit(rnnkit.GRU, "loop", reset_after=False)),
]
# What each configuration's ratios are read against: torch's own layer where it has one.
TORCH_BASELINE = {"lstm": "torch.nn", "gru": "torch.nn"}


def time_step(layer: torch.nn.Module, x: torch.Tensor, c_kernels: bool = True) -> float:
    """Seconds for one forward + backward (with rnnkit's C step kernels turned off if not
    ``c_kernels``: the fused ops then run their torch step classes, as without a compiler)."""
    available = rnnkit.ops.cpu.available
    if not c_kernels:
        rnnkit.ops.cpu.available = lambda: False  # what resolve_step_impl asks
    try:
        start = time.perf_counter()
        output, _ = layer(x)
        output.sum().backward()
        return time.perf_counter() - start
    finally:
        rnnkit.ops.cpu.available = available


def bench_size(
    batch: int, steps: int, hidden: int, repeats: int, warmup: int
) -> dict[tuple[str, str], float]:
    """Median seconds per training step for every variant at one size."""
    torch.manual_seed(0)
    x = torch.randn(steps, batch, hidden)  # input size = hidden size
    layers = {(v.config, v.impl): v.build(hidden, hidden) for v in VARIANTS}
    c_kernels = {(v.config, v.impl): v.c_kernels for v in VARIANTS}
    times: dict[tuple[str, str], list[float]] = {key: [] for key in layers}
    keys = list(layers)
    for round_ in range(warmup + repeats):
        shift = round_ % len(keys)  # rotate the order: no variant always runs first
        for key in keys[shift:] + keys[:shift]:
            elapsed = time_step(layers[key], x, c_kernels[key])
            if round_ >= warmup:
                times[key].append(elapsed)
    return {key: statistics.median(values) for key, values in times.items()}


def device_description() -> str:
    return f"cpu {os.cpu_count()}-core ({cpu_model()}), {torch.get_num_threads()} torch threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small size, few repeats")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per size")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args()
    sizes = (
        [(8, 20, 32)]
        if args.quick
        else [(32, 200, 128), (16, 100, 256), (64, 100, 64), (8, 100, 32), (64, 100, 256)]
    )
    repeats, warmup = (3, 1) if args.quick else (args.repeats, 3)
    date = dt.date.today().isoformat()
    meta = {
        "device": device_description(),
        "versions": f"rnnkit {rnnkit.__version__} / torch {torch.__version__}",
        "date": date,
        "repeats": repeats,
    }
    rows = []
    for batch, steps, hidden in sizes:
        medians = bench_size(batch, steps, hidden, repeats, warmup)
        for (config, impl), seconds in medians.items():
            baseline = TORCH_BASELINE.get(config)
            rows.append(
                {
                    "config": config,
                    "impl": impl,
                    "batch": batch,
                    "steps": steps,
                    "hidden": hidden,
                    "median_ms": round(seconds * 1000, 2),
                    "vs_loop": round(medians[(config, "loop")] / seconds, 2),
                    "vs_torch": (
                        round(seconds / medians[(config, baseline)], 3) if baseline else None
                    ),
                }
            )
        print(f"done B={batch} T={steps} H={hidden}", flush=True)
    write_results(args.out, meta, rows, quick=args.quick)


def write_results(
    folder: Path, meta: dict[str, object], rows: list[dict[str, object]], *, quick: bool
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"cpu-{meta['date']}" + ("-quick" if quick else "")
    lines = [
        f"# CPU training-step speed, {meta['date']}",
        "",
        f"Device: {meta['device']}. Versions: {meta['versions']}. "
        f"Forward + backward of one layer, input size = hidden size, median of {meta['repeats']} "
        "interleaved rounds. `speedup vs loop` = loop time / this time; `vs torch` = this time / "
        "torch.nn's time for the same configuration (1.00 = as fast as torch).",
        "",
        "Command: `python benchmarks/bench_cpu.py" + (" --quick" if quick else "") + "`",
        "",
        "| config | impl | B | T | H | ms / step | speedup vs loop | vs torch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        vs_torch = "" if row["vs_torch"] is None else f"{row['vs_torch']:.3f}"
        lines.append(
            f"| {row['config']} | {row['impl']} | {row['batch']} | {row['steps']} | "
            f"{row['hidden']} | {row['median_ms']} | {row['vs_loop']:.2f}× | {vs_torch} |"
        )
    (folder / f"{stem}.md").write_text("\n".join(lines) + "\n")
    (folder / f"{stem}.json").write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    if not quick:
        with (folder / "speed.jsonl").open("a") as log:
            for row in rows:
                log.write(json.dumps({**meta, **row}) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
