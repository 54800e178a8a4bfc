"""``rnnkit pretrain vectors``: word vectors trained on the user's own unlabelled text (word2vec
through gensim, :mod:`rnnkit.pipelines.word2vec`), for ``--vectors`` of ``train classify`` and
``train tag``.

(Pretraining a classifier's encoder as a language model is not a command but the ``[pretrain]``
section of ``rnnkit train classify``: ``--lm-epochs N``.)
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rnnkit.cli.tasks import SubParsers, emit, positive_int
from rnnkit.pipelines.word2vec import ARCHITECTURES, train_vectors


def add_pretrain(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    """``rnnkit pretrain vectors`` (its own ``--threads``: gensim's workers, not torch's)."""
    p = subparsers.add_parser(
        "pretrain", help="pretrain word vectors on your own unlabelled text (word2vec, gensim)",
        description="Pretrain what a model can start from. (A classifier's encoder pretrained as "
        "a language model is `rnnkit train classify --lm-epochs N`.)",
    )  # fmt: skip
    kinds = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    v = kinds.add_parser(
        "vectors",
        help="word2vec (skip-gram or CBOW) on text files and datasets, for --vectors",
        description="Train word vectors with gensim's word2vec on unlabelled text and write them "
        "in word2vec's text format, which `rnnkit train classify --vectors FILE` and `rnnkit "
        "train tag --vectors FILE` read (give --embedding-dim / --word-dim the same --dim). "
        "Texts are cut into words by rnnkit's word tokenizer, the one classify reads with, so the "
        "words match a classifier's vocabulary. Needs the vectors extra: pip install "
        "'rnnkit[vectors]'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )  # fmt: skip
    v.add_argument(
        "--corpus", nargs="+", required=True, metavar="CORPUS", default=argparse.SUPPRESS,
        help="a text file (one text per line), or a dataset: NAME or NAME:SPLIT (its train "
        "split unless SPLIT is val or test): a language-model corpus (wikitext-2, ptb, "
        "text:PATH) line by line, a classification set's texts as classify splits them "
        "(sst2:train, 20newsgroups, csv:PATH, …), a tagging set's sentences (conll2003); "
        "several are read one after another",
    )  # fmt: skip
    v.add_argument(
        "--out", type=Path, required=True, default=argparse.SUPPRESS,
        help="the vectors file to write (word2vec's text format)",
    )  # fmt: skip
    v.add_argument("--dim", type=int, default=300, help="size of each vector")
    v.add_argument("--window", type=int, default=5, help="largest word-to-context distance")
    v.add_argument("--min-count", type=int, default=2, help="words seen fewer times get no vector")
    v.add_argument("--epochs", type=int, default=5, help="passes over the corpora")
    v.add_argument(
        "--architecture", choices=ARCHITECTURES, default="skipgram",
        help="skipgram: a word predicts its context (better for rare words, small corpora); "
        "cbow: the context predicts the word (faster)",
    )  # fmt: skip
    v.add_argument(
        "--seed", type=int, default=0,
        help="seeds the initial vectors and sampling (with --threads 1: the same file each run)",
    )  # fmt: skip
    v.add_argument(
        "--threads", type=positive_int, default=argparse.SUPPRESS,
        help="gensim's worker threads (default: one per core)",
    )  # fmt: skip
    v.add_argument("--verbose", action="store_true", help="show gensim's own log (INFO)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(run=run_pretrain_vectors)


def run_pretrain_vectors(args: argparse.Namespace) -> int:
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s gensim: %(message)s", "%H:%M:%S"))
        gensim_log = logging.getLogger("gensim")
        gensim_log.addHandler(handler)
        gensim_log.setLevel(logging.INFO)
    try:
        result = train_vectors(
            args.corpus, args.out, dim=args.dim, window=args.window, min_count=args.min_count,
            epochs=args.epochs, architecture=args.architecture,
            threads=getattr(args, "threads", None), seed=args.seed,
        )  # fmt: skip
    except ImportError as exc:  # gensim missing: one line saying how to install it
        print(f"rnnkit pretrain: error: {exc}", file=sys.stderr)
        return 1
    emit(
        args,
        {"out": str(result.path), "words": result.words, "dim": result.dim,
         "texts": result.sentences, "tokens": result.tokens, "seconds": result.seconds},
        f"{result.path}: {result.words:,} words × {result.dim} from {result.sentences:,} texts "
        f"({result.tokens:,} tokens) in {result.seconds:.0f} s; use it with --vectors "
        f"{result.path} --embedding-dim {result.dim}",
    )  # fmt: skip
    return 0


COMMANDS = (add_pretrain,)
