"""Pretrained word vectors from a text file, matched to a vocabulary, with their coverage.

Two text formats are read, told apart by the first line:

- GloVe: one vector per line, ``word v1 v2 … vd``, separated by single spaces;
- word2vec's text format (``save_word2vec_format(binary=False)``, fastText's ``.vec``): the same
  lines after a header line ``count dim``.

Each word of the file is looked up in the vocabulary after ``normalise`` (the form the
vocabulary holds: lower-cased for rnnkit's word tokens); when several file words fall on one
vocabulary word, the first wins (files list frequent forms first). A vocabulary word the file
lacks gets a small random vector, N(0, 0.1²); the padding row is zero.

Bad input is one ``ValueError`` naming the file (and the line): a missing or empty file, a line
whose count of numbers differs from the first line's (or the header's), a vocabulary word's
number that does not read as a finite float, vectors of another size than the model's, and a
header whose count disagrees with the lines. Numbers are parsed for the vocabulary's words only
(a 400k-word file reads in seconds); every line's count of fields is checked.

>>> import pathlib, tempfile
>>> from rnnkit.text import Vocab
>>> with tempfile.TemporaryDirectory() as folder:
...     path = pathlib.Path(folder) / "vectors.txt"
...     _ = path.write_text("2 3\\nthe 0.5 -1 2\\ncat 1 0 1\\n")  # word2vec: a header line
...     vectors = read_vectors(path, Vocab.build([["the", "the", "dog"]]), dim=3)
>>> vectors.words_found, vectors.vocab_size  # "the" found, "dog" not
(1, 2)
>>> vectors.table[2].tolist()  # "the" (index 2, after <pad> and <unk>)
[0.5, -1.0, 2.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.text.vocab import Vocab

__all__ = ["MISSING_STD", "WordVectors", "read_vectors"]

MISSING_STD = 0.1  # standard deviation of the random vector of a word the file lacks


@dataclass(frozen=True)
class WordVectors:
    """A vocabulary's rows from a vectors file, and how much of the vocabulary they cover.

    Attributes:
        file: the file read.
        dim: the size of each vector.
        table: (V, dim) float32, one row per vocabulary index: the file's vector where
            ``found``, else N(0, 0.1²); the padding row zero.
        found: (V,) bool, which rows came from the file.
        vocab_size: the vocabulary's ordinary words (specials such as ``<pad>`` not counted).
        token_coverage: the share of the training tokens whose vocabulary word was found
            (None when no token counts were given); a token the vocabulary maps to ``<unk>``
            is not covered.
    """

    file: str
    dim: int
    table: Tensor
    found: Tensor
    vocab_size: int
    token_coverage: float | None = None

    @property
    def words_found(self) -> int:
        """How many vocabulary words the file held."""
        return int(self.found.sum())

    @property
    def coverage(self) -> float:
        """The share of the vocabulary's words the file held."""
        return self.words_found / max(1, self.vocab_size)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: ``file`` (absolute), ``dim``, ``words_found``, ``vocab_size``,
        ``token_coverage``."""
        return {
            "file": str(Path(self.file).absolute()),
            "dim": self.dim,
            "words_found": self.words_found,
            "vocab_size": self.vocab_size,
            "token_coverage": self.token_coverage,
        }

    def describe(self) -> str:
        """One line for the log."""
        tokens = ""
        if self.token_coverage is not None:
            tokens = f", {100 * self.token_coverage:.1f}% of the training tokens"
        return (
            f"word vectors from {self.file} ({self.dim}-d) cover {self.words_found:,} of "
            f"{self.vocab_size:,} vocabulary words ({100 * self.coverage:.1f}%){tokens}"
        )


def read_vectors(
    path: str | Path,
    vocab: Vocab,
    *,
    dim: int | None = None,
    setting: str = "vectors",
    dim_setting: str = "dim",
    normalise: Callable[[str], str] | None = None,
    token_counts: Mapping[str, int] | None = None,
) -> WordVectors:
    """The rows of ``vocab``'s words in the GloVe or word2vec text file ``path``.

    Args:
        path: the vectors file.
        vocab: the vocabulary whose rows to fill (its padding row stays zero).
        dim: the vector size the model expects; a file of another size is refused at its
            first line (None: whatever the file holds).
        setting, dim_setting: the config keys named in messages (``model.vectors``,
            ``model.embedding_dim``).
        normalise: a file word as the vocabulary holds it (e.g. ``str.lower``); None: as written.
        token_counts: how often each vocabulary-form token occurs in the training texts, for
            :attr:`WordVectors.token_coverage`.

    Raises:
        ValueError: one line naming the file (and line) for every bad input listed in the
            module's docstring.
    """
    file = Path(path)
    where = f"{setting}: {file}"
    if not file.exists():
        raise ValueError(f"{where} does not exist")
    if not file.is_file():
        raise ValueError(f"{where} is not a file")
    wanted = {token: i for i, token in enumerate(vocab.itos) if i >= vocab.num_specials}
    rows: dict[int, np.ndarray[Any, np.dtype[np.float32]]] = {}
    size, declared, count = None, None, 0
    with file.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.rstrip().split(" ")
            if parts == [""]:
                continue  # a blank line holds nothing
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                declared, size = int(parts[0]), int(parts[1])  # word2vec's header: count, size
                _check_size(size, dim, where, dim_setting, number)
                continue
            if size is None:
                size = len(parts) - 1
                if size < 1:
                    raise ValueError(
                        f"{where} line {number}: expected a word and its numbers, got {line!r:.60}"
                    )
                _check_size(size, dim, where, dim_setting, number)
            elif len(parts) - 1 < size or _numbers(parts[1 : len(parts) - size]):
                raise ValueError(
                    f"{where} line {number} has {len(parts) - 1} numbers, expected {size} "
                    f"(as {'the header says' if declared is not None else 'on the first line'})"
                )
            count += 1
            word = " ".join(parts[: len(parts) - size])  # a few GloVe words contain spaces
            index = wanted.get(normalise(word) if normalise is not None else word)
            if index is None or index in rows:
                continue
            try:
                row = np.asarray(parts[len(parts) - size :], dtype=np.float32)
            except ValueError:
                row = np.array([math.nan], dtype=np.float32)
            if not np.isfinite(row).all():
                raise ValueError(
                    f"{where} line {number}: the numbers of {word!r} are not all finite "
                    f"floats ({' '.join(parts[-size:])[:60]})"
                )
            rows[index] = row
    if size is None or count == 0:
        raise ValueError(f"{where} holds no vectors (an empty file)")
    if declared is not None and declared != count:
        raise ValueError(
            f"{where}: the header says {declared} vectors, the file holds {count} (cut short?)"
        )
    table = torch.randn(len(vocab), size) * MISSING_STD
    found = torch.zeros(len(vocab), dtype=torch.bool)
    for index, row in rows.items():
        table[index] = torch.from_numpy(row)
        found[index] = True
    if vocab.pad_index is not None:
        table[vocab.pad_index] = 0
    coverage = None
    if token_counts is not None:
        total = sum(token_counts.values())
        hit = sum(
            n for token, n in token_counts.items() if token in wanted and found[wanted[token]]
        )
        coverage = hit / total if total else 0.0
    return WordVectors(
        file=str(file), dim=size, table=table, found=found,
        vocab_size=len(vocab) - vocab.num_specials, token_coverage=coverage,
    )  # fmt: skip


def _numbers(fields: list[str]) -> bool:
    """Whether ``fields`` (the middle of a line with more fields than a vector) are numbers:
    extra numbers, not a word with spaces in it."""
    try:
        return bool(fields) and all(math.isfinite(float(f)) for f in fields)
    except ValueError:
        return False


def _check_size(size: int, dim: int | None, where: str, dim_setting: str, number: int) -> None:
    if size < 1:
        raise ValueError(f"{where} line {number}: a vector size of {size}")
    if dim is not None and size != dim:
        raise ValueError(
            f"{where} holds {size}-dimensional vectors, {dim_setting} is {dim}: set "
            f"{dim_setting} to {size} (or use {dim}-dimensional vectors)"
        )
