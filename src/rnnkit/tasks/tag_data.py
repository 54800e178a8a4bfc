"""Sequence-tagging data: the ``data`` section of ``rnnkit train tag``, vocabularies learned from
the training sentences, and padded batches of words, characters, extra features and tags.

A sentence becomes word ids (digits normalised to 0 and, optionally, lower-cased; the casing
is kept as its own feature), the characters of every word, a casing class per word, one id per
extra feature column (POS, chunk, a predicate indicator) and its tags converted to the scheme the
model learns (BIOES by default; predictions go back to the dataset's scheme before scoring).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

import rnnkit.datasets as datasets
from rnnkit.datasets import TaggedSentence, TaggingData
from rnnkit.text import Vocab, word_tokenize
from rnnkit.text.batching import bucketed_loader, length_sorted_chunks
from rnnkit.text.tags import SCHEMES, convert

__all__ = [
    "CASINGS",
    "EncodedSentence",
    "TagBatch",
    "TagDataConfig",
    "casing",
    "collate_sentences",
    "encode_sentence",
    "load_tagging_data",
    "sentence_batches",
    "tokenize_sentence",
]

CASINGS = ("pad", "lower", "upper", "title", "mixed", "numeric", "has_digit", "punct", "other")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class TagDataConfig:
    """Which sentences, and how they become batches."""

    dataset: str = "conll2003"  # conll2003, or columns:PATH (a folder or one file of columns)
    token_column: int = 0  # columns: the column of the words
    tag_column: int = -1  # columns: the column of the tags (-1: the last)
    features: tuple[int, ...] = ()  # extra input columns, e.g. 1,2 for CoNLL's POS and chunk
    source_scheme: str = "iob2"  # columns: the tag scheme of the files (conll2003: iob1)
    scheme: str = "bioes"  # the scheme the model learns: iob1 | iob2 | bioes
    lowercase: bool = True  # lower-case the word vocabulary (the casing feature keeps the case)
    normalise_digits: bool = True  # every digit becomes 0 in the word vocabulary
    min_freq: int = 1  # words seen fewer times in train become <unk>
    max_vocab: int | None = None  # word vocabulary cap, specials included; None: no cap
    batch_size: int = 16  # sentences per batch, bucketed by length
    val_fraction: float = 0.1  # columns with no val file: share of train held out
    test_fraction: float = 0.1  # columns with no test file: share of train held out
    split_seed: int = 0  # seeds those held-out splits (apart from trainer.seed)

    def __post_init__(self) -> None:
        for name in ("scheme", "source_scheme"):
            if getattr(self, name) not in SCHEMES:
                raise ValueError(
                    f"data: {name} must be one of {', '.join(SCHEMES)}, got {getattr(self, name)!r}"
                )
        if self.batch_size < 1 or self.min_freq < 1:
            raise ValueError(
                f"data: batch_size and min_freq must be ≥ 1, got {self.batch_size} and "
                f"{self.min_freq}"
            )


def load_tagging_data(config: TagDataConfig) -> TaggingData:
    """The tagged sentences ``config.dataset`` names."""
    if config.dataset.startswith("columns:"):
        return datasets.load(
            config.dataset, "tag", token_column=config.token_column, tag_column=config.tag_column,
            features=tuple(config.features), scheme=config.source_scheme,
            val_fraction=config.val_fraction, test_fraction=config.test_fraction,
            seed=config.split_seed,
        )  # fmt: skip
    options: dict[str, Any] = {"features": tuple(config.features)} if config.features else {}
    return datasets.load(config.dataset, "tag", **options)


def casing(token: str) -> int:
    """The casing class of a word, an index into :data:`CASINGS` (never 0, the padding)."""
    if token.isdigit():
        kind = "numeric"
    elif token.islower():
        kind = "lower"
    elif token.isupper():
        kind = "upper"
    elif token[:1].isupper() and token[1:].islower():
        kind = "title"
    elif any(c.isdigit() for c in token):
        kind = "has_digit"
    elif token.isalpha():
        kind = "mixed"
    elif all(not c.isalnum() for c in token):
        kind = "punct"
    else:
        kind = "other"
    return CASINGS.index(kind)


def word_form(token: str, config: TagDataConfig) -> str:
    """A token as the word vocabulary sees it."""
    if config.normalise_digits:
        token = _DIGIT.sub("0", token)
    return token.lower() if config.lowercase else token


def tokenize_sentence(text: str) -> list[str]:
    """Raw text as words and punctuation marks, case kept (for ``predict``)."""
    return word_tokenize(text, lower=False)


@dataclass(frozen=True)
class EncodedSentence:
    """One sentence as ids; ``tags`` empty when unknown."""

    words: list[int]  # (T,)
    chars: list[list[int]]  # T lists of character ids
    casing: list[int]  # (T,)
    features: list[list[int]]  # F lists of (T,) ids
    tags: list[int]  # (T,) or empty


def encode_sentence(
    tokens: Sequence[str],
    vocabs: dict[str, Vocab],
    config: TagDataConfig,
    *,
    features: Sequence[Sequence[str]] = (),
    tags: Sequence[str] | None = None,
    tag_index: dict[str, int] | None = None,
) -> EncodedSentence:
    """A sentence's tokens (and features, tags in the model's scheme) as ids."""
    words, chars = vocabs["tokens"], vocabs["chars"]
    return EncodedSentence(
        words=words.encode([word_form(t, config) for t in tokens]),
        chars=[chars.encode(list(t)) or [chars.unk_index or 0] for t in tokens],
        casing=[casing(t) for t in tokens],
        features=[vocabs[f"feature{i}"].encode(column) for i, column in enumerate(features)],
        tags=[] if tags is None or tag_index is None else [tag_index[t] for t in tags],
    )


def model_tags(sentence: TaggedSentence, source: str, config: TagDataConfig) -> list[str]:
    """A sentence's tags converted to the scheme the model learns."""
    return convert(sentence.tags, source, config.scheme)


@dataclass
class TagBatch:
    """A padded batch of sentences."""

    words: Tensor  # (B, T) int64, 0-padded
    lengths: Tensor  # (B,) int64
    chars: Tensor  # (N, C) int64 characters of the N = sum(lengths) real words, in batch order
    char_lengths: Tensor  # (N,) int64
    casing: Tensor  # (B, T) int64
    features: Tensor  # (F, B, T) int64 (F may be 0)
    tags: Tensor | None = None  # (B, T) int64, 0 at padding

    @property
    def mask(self) -> Tensor:
        """(B, T) bool: real tokens."""
        steps = torch.arange(self.words.shape[1], device=self.words.device)
        return steps.unsqueeze(0) < self.lengths.to(self.words.device).unsqueeze(1)


def _pad(rows: Sequence[Sequence[int]], width: int) -> Tensor:
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out


def collate_sentences(items: Sequence[EncodedSentence]) -> TagBatch:
    """Encoded sentences as one padded :class:`TagBatch`."""
    if not items:
        raise ValueError("collate_sentences: the batch is empty")
    width = max(len(s.words) for s in items)
    words = [c for s in items for c in s.chars]
    char_width = max(len(c) for c in words)
    features = torch.stack(
        [_pad([s.features[f] for s in items], width) for f in range(len(items[0].features))]
    ) if items[0].features else torch.zeros(0, len(items), width, dtype=torch.long)  # fmt: skip
    return TagBatch(
        words=_pad([s.words for s in items], width),
        lengths=torch.tensor([len(s.words) for s in items], dtype=torch.long),
        chars=_pad(words, char_width),
        char_lengths=torch.tensor([len(c) for c in words], dtype=torch.long),
        casing=_pad([s.casing for s in items], width),
        features=features,
        tags=_pad([s.tags for s in items], width) if items[0].tags else None,
    )


class _Sentences(torch.utils.data.Dataset[EncodedSentence]):
    def __init__(self, sentences: list[EncodedSentence]) -> None:
        self.sentences = sentences

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, index: int) -> EncodedSentence:
        return self.sentences[index]


def sentence_batches(
    sentences: list[EncodedSentence], *, batch_size: int, shuffle: bool, seed: int
) -> DataLoader[Any]:
    """Length-bucketed batches; shuffled ones are sharded across DDP ranks under torchrun."""
    return bucketed_loader(
        _Sentences(sentences), [len(s.words) for s in sentences], batch_size=batch_size,
        shuffle=shuffle, seed=seed, collate_fn=collate_sentences,
    )  # fmt: skip


def in_order(
    sentences: list[EncodedSentence], batch_size: int
) -> Iterator[tuple[list[int], TagBatch]]:
    """Sentences in length-sorted batches: (positions, batch), for prediction in input order."""
    for chosen in length_sorted_chunks([len(s.words) for s in sentences], batch_size):
        yield chosen, collate_sentences([sentences[i] for i in chosen])
