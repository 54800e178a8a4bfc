"""torch's kernels against rnnkit's fused ops on padded batches with real lengths, on the CPU.

A text batch has ragged lengths, so a layer reads it packed (``lengths=`` or a PackedSequence).
This times both backends on the same ragged batch (lengths uniform in [T/2, T]) and on the same
batch read dense, training (forward + backward of the output's sum) and inference, interleaved
in rotating rounds; medians. It is the measurement behind ``auto``'s CPU rule for packed input.

    python benchmarks/bench_packed_cpu.py [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import torch

import rnnkit
from rnnkit.bench.device import device_description

RESULTS = Path(__file__).resolve().parent / "results"
FAMILIES = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}
SIZES = [(32, 100, 128, 128), (64, 50, 256, 256), (8, 100, 64, 64), (32, 300, 200, 128)]  # B T I H


def one_call(
    layer: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor | None, train: bool
) -> float:
    start = time.perf_counter()
    if train:
        output, _ = layer(x, lengths=lengths)
        output.sum().backward()
    else:
        with torch.no_grad():
            layer(x, lengths=lengths)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for family, layer_type in FAMILIES.items():
        for batch, steps, inputs, hidden in SIZES:
            torch.manual_seed(0)
            x = torch.randn(batch, steps, inputs)
            lengths = torch.randint(steps // 2, steps + 1, (batch,))
            lengths[0] = steps
            layers = {
                b: layer_type(inputs, hidden, batch_first=True, bidirectional=True, backend=b)
                for b in ("native", "fused")
            }
            layers["fused"].load_state_dict(layers["native"].state_dict())
            for mode in ("train", "forward"):
                for reading, given in (("packed", lengths), ("dense", None)):
                    keys = list(layers)
                    times: dict[str, list[float]] = {k: [] for k in keys}
                    for round_ in range(args.repeats + 2):
                        for key in keys[round_ % 2 :] + keys[: round_ % 2]:
                            elapsed = one_call(layers[key], x, given, mode == "train")
                            if round_ >= 2:
                                times[key].append(elapsed)
                    median = {k: statistics.median(v) for k, v in times.items()}
                    rows.append({
                        "family": family, "batch": batch, "steps": steps, "input": inputs,
                        "hidden": hidden, "mode": mode, "reading": reading,
                        "native_ms": round(1000 * median["native"], 2),
                        "fused_ms": round(1000 * median["fused"], 2),
                        "fused_speedup": round(median["native"] / median["fused"], 2),
                    })  # fmt: skip
                    print(rows[-1], flush=True)
    meta = {
        "device": device_description("cpu"),
        "versions": f"rnnkit {rnnkit.__version__} / torch {torch.__version__}",
        "date": dt.date.today().isoformat(),
        "repeats": args.repeats,
    }
    stem = f"cpu-packed-{meta['date']}"
    (RESULTS / f"{stem}.json").write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    lines = [
        f"# torch's kernels vs rnnkit's fused ops on ragged batches, CPU, {meta['date']}",
        "",
        f"Device: {meta['device']}. {meta['versions']}. Bidirectional layer, batch_first, lengths "
        f"uniform in [T/2, T] (`packed`) or none (`dense`); median of {args.repeats} rounds, "
        "the two backends interleaved. `fused speed-up` = native time / fused time.",
        "",
        "Command: `python benchmarks/bench_packed_cpu.py`",
        "",
        "| family | B | T | I | H | mode | input | native ms | fused ms | fused speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['family']} | {r['batch']} | {r['steps']} | {r['input']} | {r['hidden']} | "
        f"{r['mode']} | {r['reading']} | {r['native_ms']} | {r['fused_ms']} | "
        f"{r['fused_speedup']}× |"
        for r in rows
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
