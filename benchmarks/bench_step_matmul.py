"""The per-step matrix products of the fused ops on the CPU: torch's ``mm`` (MKL) against oneDNN's
matmul with the matrix packed once, at every shape the LSTM, GRU and RNN use.

For each hidden size H and batch B, the products a step makes: forward rows (B, H) times
(H, gates·H) and backward rows (B, gates·H) times (gates·H, H), gates 1 (RNN, the GRU's W_hn),
2 (the reset-before GRU's W_hr, W_hz), 3 (GRU), 4 (LSTM). Each time is the median over rounds of
64 steps' products, the two ways interleaved; the oneDNN time includes adding its result into
the step's buffer, as the ops do, and packing M is timed apart (a fused op packs once per call).
It is the measurement behind the thresholds in :mod:`rnnkit.ops._step_matmul`.

Then whole layers (``backend="fused"``, T 128, H 512, batch 8 and 64, inference and training)
with their step products in torch and in oneDNN (``RNNKIT_ONEDNN`` switched between calls in one
process, rounds interleaved): what the products change for a user.

    python benchmarks/bench_step_matmul.py [--repeats 9] [--threads 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import rnnkit
from rnnkit.bench.device import device_description
from rnnkit.ops._step_matmul import _onednn_linear, _pack, onednn_available

RESULTS = Path(__file__).resolve().parent / "results"
STEPS = 64
HIDDEN = (128, 256, 512, 1024)
BATCH = (1, 8, 64)
GATES = (1, 2, 3, 4)


def time_products(rows: torch.Tensor, matrix: torch.Tensor, onednn: bool) -> float:
    """Seconds for STEPS products ``out += rows @ matrix`` the given way (packing not counted)."""
    out = rows.new_zeros(rows.shape[0], matrix.shape[1])
    if onednn:
        packed = _pack(matrix, rows.shape[0])
        start = time.perf_counter()
        for _ in range(STEPS):
            out.add_(_onednn_linear(rows, packed, None))
    else:
        start = time.perf_counter()
        for _ in range(STEPS):
            out.addmm_(rows, matrix)
    return time.perf_counter() - start


def time_packing(matrix: torch.Tensor, batch: int) -> float:
    """Seconds to pack ``matrix`` for oneDNN, as a fused op does once per call."""
    start = time.perf_counter()
    _pack(matrix, batch)
    return time.perf_counter() - start


def compare(batch: int, k: int, n: int, repeats: int) -> dict[str, float]:
    """Median µs per step both ways (interleaved rounds, one warm-up) and µs to pack."""
    x, matrix = torch.randn(batch, k), torch.randn(k, n)
    times: dict[str, list[float]] = {"torch": [], "onednn": [], "pack": []}
    for round_ in range(repeats + 1):
        for onednn in (round_ % 2 == 0, round_ % 2 == 1):
            elapsed = time_products(x, matrix, onednn) / STEPS
            if round_:  # the first round warms up
                times["onednn" if onednn else "torch"].append(elapsed)
        if round_:
            times["pack"].append(time_packing(matrix, batch))
    return {f"{way}_us": statistics.median(values) * 1e6 for way, values in times.items()}


LAYERS = {
    "lstm-peephole": lambda h: rnnkit.LSTM(h, h, peephole=True, backend="fused"),
    "gru": lambda h: rnnkit.GRU(h, h, backend="fused"),
    "gru-reset-before": lambda h: rnnkit.GRU(h, h, reset_after=False, backend="fused"),
}
LAYER_SIZES = [(8, 512), (64, 512)]  # (B, H)
LAYER_STEPS = 128


def time_layer(layer: torch.nn.Module, x: torch.Tensor, train: bool, onednn: bool) -> float:
    """Seconds for one forward (and backward of the output's sum, if ``train``)."""
    os.environ["RNNKIT_ONEDNN"] = "1" if onednn else "0"
    start = time.perf_counter()
    if train:
        layer(x)[0].sum().backward()
    else:
        with torch.no_grad():
            layer(x)
    return time.perf_counter() - start


def compare_layers(repeats: int) -> list[dict[str, Any]]:
    """Median ms of each layer both ways, interleaved rounds (the first two warm up)."""
    rows = []
    for (name, make), (batch, hidden) in itertools.product(LAYERS.items(), LAYER_SIZES):
        layer, x = make(hidden), torch.randn(LAYER_STEPS, batch, hidden)
        for mode in ("forward", "train"):
            times: dict[bool, list[float]] = {False: [], True: []}
            for round_ in range(repeats + 2):
                for onednn in (round_ % 2 == 0, round_ % 2 == 1):
                    elapsed = time_layer(layer, x, mode == "train", onednn)
                    if round_ >= 2:
                        times[onednn].append(elapsed)
            torch_ms, onednn_ms = (statistics.median(times[way]) * 1e3 for way in (False, True))
            row = {"layer": name, "B": batch, "H": hidden, "mode": mode, "torch_ms": torch_ms,
                   "onednn_ms": onednn_ms, "speedup": torch_ms / onednn_ms}  # fmt: skip
            rows.append(row)
            print(
                f"{name} B {batch} H {hidden} {mode}: torch products {torch_ms:.1f} ms, oneDNN "
                f"{onednn_ms:.1f} ms ({row['speedup']:.2f}×)",
                flush=True,
            )
    os.environ.pop("RNNKIT_ONEDNN")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    if not onednn_available():
        raise SystemExit("torch's oneDNN matmul ops are unavailable in this build")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    with torch.no_grad():
        for hidden, batch, gates in itertools.product(HIDDEN, BATCH, GATES):
            for direction, (k, n) in (
                ("forward", (hidden, gates * hidden)),
                ("backward", (gates * hidden, hidden)),
            ):
                row = {"H": hidden, "B": batch, "gates": gates, "direction": direction, "K": k,
                       "N": n, **compare(batch, k, n, args.repeats)}  # fmt: skip
                row["speedup"] = row["torch_us"] / row["onednn_us"]
                rows.append(row)
                print(
                    f"H {hidden:4} B {batch:2} {direction:8} ({k}, {n}): torch "
                    f"{row['torch_us']:.1f} µs, oneDNN {row['onednn_us']:.1f} µs "
                    f"({row['speedup']:.2f}×), packing {row['pack_us']:.0f} µs",
                    flush=True,
                )
    write(rows, compare_layers(args.repeats), args.threads)


def write(rows: list[dict[str, Any]], layers: list[dict[str, Any]], threads: int) -> None:
    date = dt.date.today().isoformat()
    device = device_description("cpu")
    stem = RESULTS / f"step-matmul-{date}"
    meta = {"device": device, "torch": torch.__version__, "threads": threads, "date": date}
    result = {**meta, "rows": rows, "layers": layers}
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# Per-step products: torch mm (MKL) vs oneDNN, {device}",
        "",
        f"{date}, torch {torch.__version__}. Command: "
        "`python benchmarks/bench_step_matmul.py`. One step's product `out += rows @ M`, "
        f"rows (B, K), M (K, N), median over rounds of {STEPS} steps (µs per step); oneDNN "
        "with M packed once, its result added into `out`. `×` = torch / oneDNN (> 1: oneDNN "
        "faster).",
        "",
        "| H | B | gates | direction | K × N | torch µs | oneDNN µs | × | pack µs | repays after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        saving = r["torch_us"] - r["onednn_us"]
        repays = f"{math.ceil(r['pack_us'] / saving)} steps" if saving > 0 else "never"
        lines.append(
            f"| {r['H']} | {r['B']} | {r['gates']} | {r['direction']} | {r['K']} × {r['N']} | "
            f"{r['torch_us']:.1f} | {r['onednn_us']:.1f} | {r['speedup']:.2f}× | "
            f"{r['pack_us']:.0f} | {repays} |"
        )
    lines += [
        "",
        f"## Fused layers, T {LAYER_STEPS}: step products in torch vs in oneDNN",
        "",
        '`backend="fused"`, input size = H; `forward` under `torch.no_grad`, `train` forward + '
        "backward of the output's sum; ms, median of interleaved rounds in one process.",
        "",
        "| layer | B | H | mode | torch products ms | oneDNN ms | × |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in layers:
        lines.append(
            f"| {r['layer']} | {r['B']} | {r['H']} | {r['mode']} | {r['torch_ms']:.1f} | "
            f"{r['onednn_ms']:.1f} | {r['speedup']:.2f}× |"
        )
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {stem}.md and .json")


if __name__ == "__main__":
    main()
