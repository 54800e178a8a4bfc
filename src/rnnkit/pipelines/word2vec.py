"""Word vectors trained on the user's unlabelled text with gensim's word2vec (skip-gram or CBOW,
Mikolov et al. 2013), written in word2vec's text format, which ``model.vectors`` of
``rnnkit train classify`` and ``rnnkit train tag`` reads. ``rnnkit pretrain vectors`` is this
module's command.

A corpus (:func:`corpus_sentences`) is one of:

- a text file: one text per line (a blank line is skipped);
- ``NAME`` or ``NAME:SPLIT``: a dataset rnnkit knows (``rnnkit datasets``), its ``train`` split
  unless ``SPLIT`` (``train``, ``val`` or ``test``) says otherwise; a language-model corpus
  (``wikitext-2``, ``ptb``, ``tinyshakespeare``, ``text:PATH``) line by line, a classification set
  (``sst2``, ``20newsgroups``, ``csv:PATH``, …) by its texts, split as ``rnnkit train classify``
  splits it with its default ``--val-fraction`` and ``--split-seed`` (so ``sst2:train`` is the
  very training split of a classifier), a tagging set (``conll2003``) by its sentences.

Every text is cut into words by rnnkit's word tokenizer (:func:`rnnkit.text.word_tokenize`,
lower-cased words and punctuation marks), the one ``classify`` reads texts with, so the vectors'
words are the classifier's vocabulary words. In the word-level language-model corpora the
unknown-word marker ``<unk>`` is dropped and WikiText's ``@-@``, ``@,@``, ``@.@`` are read as
``-``, ``,``, ``.``.

gensim is an optional extra: ``pip install 'rnnkit[vectors]'``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rnnkit.datasets as datasets
from rnnkit._io import atomic_path
from rnnkit.datasets.base import read_utf8
from rnnkit.datasets.registry import USER_FORMATS
from rnnkit.tasks.text_data import DataConfig, load_dataset
from rnnkit.text import word_tokenize

__all__ = ["ARCHITECTURES", "INSTALL_HINT", "VectorsResult", "corpus_sentences", "train_vectors"]

ARCHITECTURES = ("skipgram", "cbow")
INSTALL_HINT = (
    "rnnkit pretrain vectors needs gensim, an optional extra: pip install 'rnnkit[vectors]' "
    "(or pip install 'gensim>=4.3')"
)
SPLITS = ("train", "val", "test")
_WIKITEXT_MARK = re.compile(r"@(.)@")  # WikiText's @-@, @,@, @.@ inside numbers and words


@dataclass(frozen=True)
class VectorsResult:
    """What :func:`train_vectors` wrote."""

    path: Path  # the vectors file (word2vec text format)
    words: int  # words with a vector
    dim: int
    sentences: int  # texts read, over all corpora
    tokens: int  # their tokens
    seconds: float


def corpus_sentences(spec: str) -> list[list[str]]:
    """The tokenised texts of corpus ``spec`` (see the module's docstring for the forms)."""
    path = Path(spec)
    if path.is_file():
        texts = _tokenised(read_utf8(path).splitlines())
        if not texts:
            raise ValueError(f"--corpus {spec}: no words in the file (it is empty)")
        return texts
    if path.is_dir():
        raise ValueError(f"--corpus {spec}: a folder; give its text files (one text per line)")
    name, split = spec, "train"
    head, colon, tail = spec.rpartition(":")
    if colon and tail in SPLITS:
        name, split = head, tail
    task = _task_of(name)
    if task is None:
        known = ", ".join(row["name"] for row in datasets.available())
        raise ValueError(
            f"--corpus {spec}: no such file, nor a dataset rnnkit knows (known: {known}; or "
            f"csv:PATH, text:PATH, …; NAME:SPLIT for a split other than train)"
        )
    lines: list[str]
    if task == "classify":
        lines = [e.text for e in load_dataset(DataConfig(dataset=name)).split(split)]
    elif task == "tag":
        lines = [" ".join(s.tokens) for s in datasets.load(name, "tag").split(split)]
    else:
        lines = _corpus_lines(name, split)
    sentences = _tokenised(lines)
    if not sentences:
        raise ValueError(f"--corpus {spec}: the {split} split holds no text")
    return sentences


def _task_of(name: str) -> str | None:
    """The kind of data ``name`` holds (``classify``, ``tag``, ``lm``), None if unknown."""
    scheme, colon, _ = name.partition(":")
    if colon and scheme in USER_FORMATS:
        return USER_FORMATS[scheme].task
    task = next((row["task"] for row in datasets.available() if row["name"] == name), None)
    return str(task) if task is not None else None


def _corpus_lines(name: str, split: str) -> list[str]:
    """A language-model corpus's split as lines of text."""
    corpus = datasets.load(name, "lm")
    stream = corpus.split(split)
    if corpus.level == "char":
        if corpus.eos is not None:
            raise ValueError(
                f"--corpus {name}: a corpus of single characters; word vectors need words (ptb "
                "is ptb-char's text in words)"
            )
        return "".join(stream).splitlines()
    lines: list[str] = []
    line: list[str] = []
    for token in stream:
        if token == corpus.eos:
            lines.append(" ".join(line))
            line = []
        elif token != "<unk>":
            line.append(_WIKITEXT_MARK.sub(r"\1", token))
    lines.append(" ".join(line))
    return lines


def _tokenised(lines: Sequence[str]) -> list[list[str]]:
    return [tokens for tokens in (word_tokenize(line) for line in lines) if tokens]


def train_vectors(
    corpora: Sequence[str],
    out: str | Path,
    *,
    dim: int = 300,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    architecture: str = "skipgram",
    threads: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> VectorsResult:
    """Train word2vec on ``corpora`` (files or dataset names, :func:`corpus_sentences`) and write
    the vectors to ``out`` in word2vec's text format (atomically).

    Args:
        dim: the vector size (the classifier's ``embedding_dim``, the tagger's ``word_dim``).
        window: the largest distance between a word and a context word.
        min_count: words seen fewer times get no vector.
        epochs: passes over the corpora.
        architecture: ``skipgram`` (a word predicts its context; better for rare words and
            small corpora) or ``cbow`` (the context predicts the word; faster).
        threads: gensim's worker threads (None: one per core); with 1 and the same ``seed`` the
            vectors are the same on every run.
        seed: seeds the initial vectors and the sampling.
        progress: print a line per epoch on stderr.

    Raises:
        ImportError: gensim is not installed (the message says how to install it).
        ValueError: a bad setting, a corpus that cannot be read, or no word seen ``min_count``
            times.
    """
    try:
        from gensim.models import Word2Vec
        from gensim.models.callbacks import CallbackAny2Vec
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"--architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}"
        )
    for flag, value in (("--dim", dim), ("--window", window), ("--min-count", min_count),
                        ("--epochs", epochs)):  # fmt: skip
        if value < 1:
            raise ValueError(f"{flag} must be ≥ 1, got {value}")
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be ≥ 1, got {threads}")
    if not corpora:
        raise ValueError("--corpus: give at least one file or dataset")
    started = time.perf_counter()
    sentences = [s for spec in corpora for s in corpus_sentences(spec)]
    tokens = sum(len(s) for s in sentences)
    if progress:
        print(f"pretrain vectors: {len(sentences):,} texts, {tokens:,} tokens from "
              f"{', '.join(corpora)}", file=sys.stderr)  # fmt: skip

    class Progress(CallbackAny2Vec):  # type: ignore[misc]  # gensim is untyped
        def __init__(self) -> None:
            self.epoch, self.since = 0, time.perf_counter()

        def on_epoch_begin(self, model: Any) -> None:
            self.since = time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            self.epoch += 1
            if progress:
                seconds = time.perf_counter() - self.since
                print(f"pretrain vectors: epoch {self.epoch}/{epochs} ({seconds:.1f} s)",
                      file=sys.stderr, flush=True)  # fmt: skip

    model = Word2Vec(
        vector_size=dim, window=window, min_count=min_count, sg=int(architecture == "skipgram"),
        workers=threads or os.cpu_count() or 1, seed=seed, epochs=epochs,
    )  # fmt: skip
    model.build_vocab(sentences)
    if len(model.wv) == 0:
        raise ValueError(
            f"no word occurs --min-count {min_count} times in the corpora ({tokens:,} tokens)"
        )
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs, callbacks=[Progress()])
    target = Path(out)
    with atomic_path(target) as tmp:
        model.wv.save_word2vec_format(str(tmp), binary=False)
    return VectorsResult(
        path=target, words=len(model.wv), dim=dim, sentences=len(sentences), tokens=tokens,
        seconds=time.perf_counter() - started,
    )  # fmt: skip
