"""``rnnkit translate RUN TEXT…`` / ``--file F``: translations from a seq2seq run, one line out
per line in, printed as they are ready."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from rnnkit.cli.tasks import SubParsers
from rnnkit.pipelines.run import Run
from rnnkit.tasks.decoding import Hypothesis
from rnnkit.tasks.seq2seq import DecodeConfig, Seq2SeqTask
from rnnkit.tasks.seq2seq_data import TARGET, tokenize
from rnnkit.text import detokenize
from rnnkit.viz.attention import plot_attention

CHUNK = 32  # lines of --file decoded together


def add_translate(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "translate", parents=[common], help="translate sentences with a seq2seq run",
        description="Translate each TEXT, or each line of --file (one line out per line in, "
        "an empty line out for an empty line in, said on stderr). Decoding settings default to "
        "the run's decode section.",
    )  # fmt: skip
    p.add_argument(
        "run_dir", type=Path, metavar="RUN", help="run directory of `rnnkit train seq2seq`"
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="source sentences")
    p.add_argument("--file", type=Path, help="translate each line of this UTF-8 file ('-': stdin)")
    p.add_argument("--beam", type=int, help="hypotheses kept per sentence (1: greedy)")
    p.add_argument("--n-best", type=int, help="print the N best translations, tab-separated")
    p.add_argument("--max-len", type=int, help="target tokens at most")
    p.add_argument("--length-penalty", type=float, help="rank by score / length ** this")
    p.add_argument(
        "--attention", type=Path, metavar="PNG",
        help="write the attention heatmap of the (first) sentence's best translation here",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object per sentence")
    p.set_defaults(run=run_translate)


def _lines(args: argparse.Namespace) -> Iterator[str]:
    if args.file is not None and args.texts:
        raise ValueError("translate: give sentences or --file, not both")
    if args.file is None:
        if not args.texts:
            raise ValueError("translate: give sentences to translate, or --file FILE")
        yield from args.texts
        return
    if str(args.file) == "-":
        yield from (line.rstrip("\n") for line in sys.stdin)
        return
    try:
        with args.file.open(encoding="utf-8") as handle:
            yield from (line.rstrip("\r\n") for line in handle)
    except UnicodeDecodeError as error:
        raise ValueError(f"{args.file}: not UTF-8 ({error.reason})") from None
    except OSError as error:
        raise ValueError(f"{args.file}: {error.strerror or error}") from None


def run_translate(args: argparse.Namespace) -> int:
    run = Run.load(args.run_dir)
    if not isinstance(run.task, Seq2SeqTask):
        raise ValueError(
            f"translate: {args.run_dir} is a run of the {run.task.name} task, not seq2seq "
            "(rnnkit train seq2seq makes one)"
        )
    decode = run.config.decode
    changes = {
        "beam": args.beam, "n_best": args.n_best, "max_len": args.max_len,
        "length_penalty": args.length_penalty,
    }  # fmt: skip
    given = {k: v for k, v in changes.items() if v is not None}
    if args.n_best is not None and args.beam is None:
        given["beam"] = max(decode.beam, args.n_best)
    decode = DecodeConfig(**{**dataclasses.asdict(decode), **given})
    task, vocab = run.task, run.artifacts.vocabs[TARGET]
    chunk: list[tuple[int, str]] = []
    first = True

    def flush() -> None:
        nonlocal first
        texts = [text for _, text in chunk]
        found = task.translate(run, texts, decode=decode, attention=first and bool(args.attention))
        for (number, text), hypotheses in zip(chunk, found, strict=True):
            best = hypotheses[0]
            outs = [detokenize(vocab.decode(h.tokens)) for h in hypotheses]
            if first and args.attention:
                _plot(args.attention, run, text, best)
            first = False
            if args.json:
                rows = [
                    {"translation": o, "score": h.score}
                    for o, h in zip(outs, hypotheses, strict=True)
                ]
                print(json.dumps({"line": number, "source": text, "translation": outs[0],
                                  "n_best": rows}, ensure_ascii=False))  # fmt: skip
            else:
                print("\t".join(outs), flush=True)
        chunk.clear()

    for number, text in enumerate(_lines(args), start=1):
        if not tokenize(text, run.config.data):
            where = f"{args.file} line {number}" if args.file else f"sentence {number}"
            if args.file is None:
                raise ValueError(f"translate: {where} is empty")
            if chunk:
                flush()
            print(f"translate: {where} is empty; its translation is left empty", file=sys.stderr)
            print(json.dumps({"line": number, "source": text, "translation": ""})
                  if args.json else "", flush=True)  # fmt: skip
            continue
        chunk.append((number, text))
        if len(chunk) == CHUNK:
            flush()
    if chunk:
        flush()
    return 0


def _plot(path: Path, run: Run, text: str, best: Hypothesis) -> None:
    """The heatmap of ``best``'s attention: a row per produced token (``<eos>`` included)."""
    if best.attention is None:
        raise ValueError("translate: --attention needs a model with attention (attention none)")
    weights = best.attention
    source = tokenize(text, run.config.data)
    target = [*run.artifacts.vocabs[TARGET].decode(best.tokens)]
    if best.ended:
        target.append("<eos>")
    written = plot_attention(weights, source, target, path, title=text[:60])
    print(f"attention: {written}", file=sys.stderr)


COMMANDS = (add_translate,)
