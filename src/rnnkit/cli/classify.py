"""``rnnkit quantize RUN``: the one classification-only command (int8 inference)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli.tasks import SubParsers, emit
from rnnkit.pipelines.quantize import quantize_run
from rnnkit.pipelines.run import SPLITS, Run


def add_quantize(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "quantize", parents=[common],
        help="int8 inference for a classification run: accuracy and speed against float32",
        description="Build the run's int8 model (dynamic quantisation of the recurrent and "
        "output layers) and measure its accuracy and CPU inference time on a split against the "
        "float32 model; writes RUN/int8.json. Use it with evaluate/predict --int8.",
    )  # fmt: skip
    p.add_argument("run_dir", type=Path, metavar="RUN", help="run directory")
    p.add_argument("--split", choices=SPLITS, default="test", help="which split (default: test)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per model (default: 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    result = quantize_run(Run.load(args.run_dir), split=args.split, repeats=args.repeats)
    lines = [f"{'model':<16}{'accuracy':>10}{'seconds':>10}"]
    for name, seconds in result["seconds"].items():
        lines.append(f"{name:<16}{100 * result['accuracy'][name]:>9.2f}%{seconds:>10.3f}")
    lines.append(
        f"\nint8: {result['speedup']:.2f}× the speed of float32, accuracy "
        f"{result['accuracy_change_points']:+.2f} points on {result['examples']} "
        f"{args.split} examples, threads: {result['threads']}; {args.run_dir / 'int8.json'}"
    )
    emit(args, result, "\n".join(lines))
    return 0


COMMANDS = (add_quantize,)
