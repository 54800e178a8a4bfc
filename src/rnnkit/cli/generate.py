"""``rnnkit generate RUN``: text from a language-model run, printed as it is produced."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rnnkit.cli.tasks import SubParsers, emit
from rnnkit.pipelines.run import Run
from rnnkit.tasks.generation import TextGenerator, check_sampling


def add_generate(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "generate", parents=[common], help="generate text with a language-model run (lm)",
        description="Continue --prompt with the run's language model, printing each token as "
        "it is drawn. Unknown words of the prompt read as <unk> (said on stderr).",
    )  # fmt: skip
    p.add_argument("run_dir", type=Path, metavar="RUN", help="run directory of `rnnkit train lm`")
    p.add_argument("--prompt", default="", help="text to continue (default: a line start)")
    p.add_argument("--tokens", type=int, default=200, help="tokens to generate (default: 200)")
    p.add_argument(
        "--temperature", type=float, default=1.0,
        help="divides the scores: below 1 more conservative, above 1 more varied (default: 1)",
    )  # fmt: skip
    p.add_argument("--top-k", type=int, help="draw among the K most likely tokens only")
    p.add_argument(
        "--top-p", type=float, help="draw among the most likely tokens holding P of the mass"
    )
    p.add_argument("--seed", type=int, help="seed the sampling, for a reproducible text")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end instead")
    p.set_defaults(run=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    check_sampling(args.temperature, args.top_k, args.top_p)
    if args.tokens < 1:
        raise ValueError(f"--tokens must be ≥ 1, got {args.tokens}")
    generator = TextGenerator.from_run(Run.load(args.run_dir), seed=args.seed, warn=sys.stderr)
    generator.feed(args.prompt)
    pieces = generator.generate(
        args.tokens, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p
    )
    started = time.perf_counter()
    if args.json:
        text = "".join(pieces)
        seconds = time.perf_counter() - started
        emit(args, {"prompt": args.prompt, "text": text, "tokens": args.tokens,
                    "seconds": seconds}, "")  # fmt: skip
        return 0
    sys.stdout.write(args.prompt)
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


COMMANDS = (add_generate,)
