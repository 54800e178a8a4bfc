"""The ``rnnkit`` command: a thin shell over the public API.

Each subcommand is one ``_add_<name>(subparsers, common)`` function that declares its flags
(plus the ``common`` ones every subcommand shares) and sets ``run`` to the function that calls
the API; adding a subcommand means writing one such function and listing it in ``_SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

import torch

from rnnkit import __version__
from rnnkit.cli import bench, classify, generate, pretrain, tasks, translate, tune
from rnnkit.cli.tasks import positive_int
from rnnkit.demo import DEFAULTS, run_adding_demo
from rnnkit.tasks.encoder import CELLS

__all__ = ["build_parser", "main"]

_SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # add_subparsers()


def main(argv: list[str] | None = None) -> int:
    """Run ``rnnkit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = build_parser().parse_args(argv)
    if "threads" in args:
        torch.set_num_threads(args.threads)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (ValueError, OSError) as exc:
        print(f"rnnkit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        again = ""
        if args.command == "train":
            again = "; the last finished epoch is kept: the same command with --resume continues"
        print(f"rnnkit {args.command}: interrupted{again}", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks: Elman RNN, LSTM and GRU."
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers, _common_options())
    return parser


def _common_options() -> argparse.ArgumentParser:
    """The options every subcommand takes (passed to ``add_parser`` as a parent)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--threads",
        type=positive_int,
        default=argparse.SUPPRESS,  # absent: torch's own setting (the demo: 1)
        help="CPU threads for torch (default: torch's own choice, one per core; for demo, 1, "
        "as fast for its small layers and much faster when other processes share the CPU)",
    )
    return common


def _add_demo(subparsers: _SubParsers, common: argparse.ArgumentParser) -> None:
    """``rnnkit demo``: RNN vs LSTM vs GRU on the adding problem."""
    p = subparsers.add_parser(
        "demo",
        help="RNN vs LSTM vs GRU on the long-range adding problem (no download)",
        description="Train an Elman RNN, an LSTM and a GRU on the adding problem (Hochreiter & "
        "Schmidhuber 1997), print a table against the always-answer-1 baseline (MSE 0.167) and "
        "save learning_curves.png and results.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        parents=[common],
    )
    p.add_argument(
        "--seq-len", type=positive_int, default=DEFAULTS.seq_len, help="sequence length T"
    )
    p.add_argument(
        "--steps", type=positive_int, default=DEFAULTS.steps, help="training steps per cell"
    )
    p.add_argument(
        "--hidden-size", type=positive_int, default=DEFAULTS.hidden_size, help="hidden units H"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=DEFAULTS.batch_size, help="sequences per step"
    )
    p.add_argument("--lr", type=float, default=DEFAULTS.lr, help="Adam learning rate")
    p.add_argument(
        "--cells",
        type=_cell_list,
        default=",".join(DEFAULTS.cells),
        help="comma-separated cells to train",
    )
    p.add_argument(
        "--seed", type=int, default=DEFAULTS.seed, help="seed for initialisation and data"
    )
    p.add_argument(
        "--out", default="runs/demo", help="output directory for the plot and results.json"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    if "threads" not in args:  # its layers are small: one thread is as fast, and robust to load
        torch.set_num_threads(1)
    run_adding_demo(
        seq_len=args.seq_len,
        steps=args.steps,
        hidden_size=args.hidden_size,
        batch_size=args.batch_size,
        lr=args.lr,
        cells=args.cells,
        seed=args.seed,
        out_dir=args.out,
        progress=not args.no_progress,
    )
    return 0


_SUBCOMMANDS: Sequence[Callable[[_SubParsers, argparse.ArgumentParser], None]] = (
    _add_demo,
    *tasks.COMMANDS,
    *tune.COMMANDS,
    *classify.COMMANDS,
    *generate.COMMANDS,
    *pretrain.COMMANDS,
    *translate.COMMANDS,
    bench.add_bench,
)


def _cell_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated cell names, each in CELLS, none repeated."""
    cells = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in cells if c not in CELLS]
    if not cells or bad or len(set(cells)) != len(cells):
        raise argparse.ArgumentTypeError(
            f"expected distinct cells from {','.join(CELLS)}, got {text!r}"
        )
    return cells
