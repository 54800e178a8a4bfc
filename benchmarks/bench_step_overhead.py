"""How much of a fused op's time per step is Python and dispatch, not arithmetic, on the CPU.

Times the fused peephole LSTM (1 thread, T = 256) forward and training at a hidden size so small
that the arithmetic is negligible (H 8, batch 1: what is left is the per-step cost of the Python
time loop, its torch calls and the C kernel calls) and at two working sizes, and prints
microseconds per step. It is the measurement behind leaving the time loop in Python
(``benchmarks/results/cpu-fused-attempts.md``).

    python benchmarks/bench_step_overhead.py
"""

from __future__ import annotations

import statistics
import time

import torch

import rnnkit
from rnnkit.bench.device import device_description

STEPS = 256
SIZES = [(8, 1), (128, 8), (256, 8)]  # (hidden, batch)


def per_step_us(layer: torch.nn.Module, x: torch.Tensor, train: bool, rounds: int = 15) -> float:
    """Median microseconds per time step of one forward (and backward, if ``train``)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        if train:
            out, _ = layer(x)
            out.sum().backward()
        else:
            with torch.no_grad():
                layer(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / x.shape[0] * 1e6


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"fused peephole LSTM, T = {STEPS}, 1 thread, torch {torch.__version__}")
    print(f"device: {device_description('cpu')}")
    print("| H | B | forward µs/step | training µs/step |")
    print("|---|---|---|---|")
    for hidden, batch in SIZES:
        layer = rnnkit.LSTM(hidden, hidden, peephole=True)
        x = torch.randn(STEPS, batch, hidden)
        forward, train = (per_step_us(layer, x, train) for train in (False, True))
        print(f"| {hidden} | {batch} | {forward:.1f} | {train:.1f} |")


if __name__ == "__main__":
    main()
