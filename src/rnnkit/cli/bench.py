"""``rnnkit bench``: cell throughput, rnnkit's backends against torch's layers and plain loops.

Thin: parses the flags into :func:`rnnkit.bench.make_grid`, runs :func:`rnnkit.bench.run_bench`,
writes the files with :func:`rnnkit.bench.write_results` and prints where they are (or, with
``--json``, one JSON object). Values are parsed here, not by argparse, so a bad one is one
``rnnkit bench: error: …`` line and exit code 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TypeAlias

from rnnkit.bench import (
    CONFIGS,
    DTYPES,
    VARIANTS,
    BenchGrid,
    make_grid,
    run_bench,
    write_results,
)

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_bench(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    """Declare ``rnnkit bench`` and its flags."""
    p = subparsers.add_parser(
        "bench",
        parents=[common],
        help="cell throughput: rnnkit's backends vs torch's layers vs plain loops",
        description="Time every cell configuration (" + ", ".join(CONFIGS) + ") in every "
        "variant (" + ", ".join(VARIANTS) + ") over a grid of sizes, interleaved, and write "
        "<device>.json and <device>.md (medians, ratios vs loop and vs torch) into --out. "
        "Default grid: B 1,8,64,256 × H 128,256,512,1024, T 256, forward and train, fp32 (and "
        "bf16 on CUDA), on CUDA when available. It takes hours on a CPU; try --quick first.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a CPU smoke run of a few seconds: B 4, H 32, T 16, fp32, both modes, 2 repeats, "
        "compiled-loop left out; the other flags still apply (files named <device>-quick)",
    )
    p.add_argument(
        "--device", metavar="cpu|cuda", help="default: cuda when available, cpu with --quick"
    )
    p.add_argument(
        "--modes",
        metavar="M,M",
        help="forward (inference under torch.no_grad) and/or train (forward + backward of "
        "output.sum()), comma-separated (default: both)",
    )
    p.add_argument(
        "--dtypes",
        metavar="D,D",
        help=f"comma-separated, of {','.join(DTYPES)} (default: fp32,bf16 on CUDA, fp32 on CPU)",
    )
    p.add_argument("--batch", metavar="B,B", help="batch sizes (default: 1,8,64,256)")
    p.add_argument(
        "--hidden", metavar="H,H", help="hidden sizes H; input size = H (default: 128,256,512,1024)"
    )
    p.add_argument("--steps", metavar="T", help="sequence length (default: 256)")
    p.add_argument("--repeats", metavar="N", help="timed rounds per size (default: 20)")
    p.add_argument("--warmup", metavar="N", help="untimed rounds first (default: 3)")
    p.add_argument(
        "--configs",
        metavar="C,C",
        help=f"cell configurations, of {','.join(CONFIGS)} (default: all)",
    )
    p.add_argument(
        "--variants",
        metavar="V,V",
        help=f"implementations, of {','.join(VARIANTS)} (default: all; naming compiled-loop "
        "runs it with --quick too); the ratios need loop and native among them",
    )
    p.add_argument(
        "--compile-backend", metavar="NAME", help="torch.compile backend of compiled-loop "
        "(default: inductor)",
    )  # fmt: skip
    p.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results"),
        metavar="DIR",
        help="folder for the .json and .md files (default: benchmarks/results)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")
    p.set_defaults(run=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    """Run the grid the flags describe, write the files, print a summary."""
    result = run_bench(grid_from_args(args), progress=not args.json)
    json_path, md_path = write_results(result, args.out)
    if args.json:
        print(json.dumps({**result, "files": [str(json_path), str(md_path)]}))
        return 0
    rows = result["rows"]
    timed = sum(row["status"] == "ok" for row in rows)
    print(
        f"{result['device']}: {timed} of {len(rows)} variant × size rows timed, "
        f"{len(rows) - timed} skipped\nwrote {json_path} and {md_path}"
    )
    return 0


def grid_from_args(args: argparse.Namespace) -> BenchGrid:
    """The grid the flags describe (ValueError naming the flag or field if one is bad)."""
    return make_grid(
        quick=args.quick,
        device=args.device,
        dtypes=_names(args.dtypes),
        modes=_names(args.modes),
        batch=_ints("--batch", args.batch),
        hidden=_ints("--hidden", args.hidden),
        steps=_int("--steps", args.steps),
        repeats=_int("--repeats", args.repeats),
        warmup=_int("--warmup", args.warmup),
        configs=_names(args.configs),
        variants=_names(args.variants),
        compile_backend=args.compile_backend,
    )


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of names (checked by the grid), None when the flag is absent."""
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _ints(flag: str, text: str | None) -> tuple[int, ...] | None:
    """A comma-separated list of integers (their range checked by the grid)."""
    names = _names(text)
    if names is None:
        return None
    try:
        return tuple(int(part) for part in names)
    except ValueError:
        raise ValueError(f"{flag}: expected comma-separated integers, got {text!r}") from None


def _int(flag: str, text: str | None) -> int | None:
    """One integer (its range checked by the grid)."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag}: expected an integer, got {text!r}") from None
