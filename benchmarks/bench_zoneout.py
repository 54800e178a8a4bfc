"""Zoneout's training cost on the CPU: rnnkit's fused op against its per-step autograd loop.

One layer (LSTM, peephole LSTM, GRU; H 200, batch 20, T 35: the PTB small model's layer), a
forward and backward with ``zoneout=0.1``, ``backend="fused"`` against ``backend="loop"``, and
torch's own kernel without zoneout (it has none) for scale; the rows take turns, median of the
timed rounds. Writes ``benchmarks/results/zoneout-<date>.md`` and prints it.

    python benchmarks/bench_zoneout.py [--threads 1] [--rounds 15]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import rnnkit
from rnnkit.bench.device import device_description

T, B, SIZE, P = 35, 20, 200, 0.1
CELLS: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "LSTM": (rnnkit.LSTM, {}),
    "LSTM, peepholes": (rnnkit.LSTM, {"peephole": True}),
    "GRU": (rnnkit.GRU, {}),
}


def train_ms(layer: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    out, _ = layer(x)
    out.sum().backward()
    return 1e3 * (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(T, B, SIZE, requires_grad=True)
    lines = [
        f"# Zoneout in training: fused op vs per-step loop ({datetime.date.today()})",
        "",
        f"One layer, H {SIZE}, batch {B}, T {T}, float32, forward + backward, zoneout {P}; "
        f"median of {args.rounds} rounds (the first 2 of each row dropped), rows taking turns.",
        "",
        "| cell | fused, zoneout (ms) | loop, zoneout (ms) | fused speed-up | torch's kernel, "
        "no zoneout (ms) |",
        "|---|---|---|---|---|",
    ]
    for name, (cls, options) in CELLS.items():
        rows = {
            "fused": cls(SIZE, SIZE, zoneout=P, backend="fused", **options),
            "loop": cls(SIZE, SIZE, zoneout=P, backend="loop", **options),
        }
        if not options:
            rows["torch"] = cls(SIZE, SIZE, backend="native")
        times: dict[str, list[float]] = {k: [] for k in rows}
        for _ in range(args.rounds + 2):
            for key, layer in rows.items():
                times[key].append(train_ms(layer, x))
        ms = {k: statistics.median(v[2:]) for k, v in times.items()}
        native = f"{ms['torch']:.1f}" if "torch" in ms else "— (no kernel)"
        lines.append(
            f"| {name} | {ms['fused']:.1f} | {ms['loop']:.1f} | "
            f"{ms['loop'] / ms['fused']:.2f}× | {native} |"
        )
    lines += [
        "",
        f"- device: {device_description('cpu')}; load average {os.getloadavg()} at the end "
        "(other processes share the CPU; the rows take turns, so the ratios compare alike)",
        f"- torch {torch.__version__}, rnnkit {rnnkit.__version__}",
        f"- command: `.venv/bin/python benchmarks/bench_zoneout.py --threads {args.threads} "
        f"--rounds {args.rounds}`",
    ]
    text = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "results" / f"zoneout-{datetime.date.today()}.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
