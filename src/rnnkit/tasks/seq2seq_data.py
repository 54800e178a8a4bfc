"""Translation data: the ``data`` section of ``rnnkit train seq2seq``, the source and target
vocabularies, and length-bucketed batches of sentence pairs.

Sentences are split into words of any script and single punctuation marks
(:func:`~rnnkit.text.unicode_word_tokenize`), the case kept unless ``lowercase``. The source
vocabulary is the run's main one (``vocab.json``), the target one ``vocab-target.json``; both
hold ``<pad>`` (index 0), ``<unk>``, ``<bos>`` and ``<eos>``. A target sentence y_1 … y_n is
read by the decoder as ``<bos> y_1 … y_n`` and predicted as ``y_1 … y_n <eos>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

import rnnkit.datasets as datasets
from rnnkit.datasets.parallel import Pair, ParallelData
from rnnkit.text import Vocab, unicode_word_tokenize
from rnnkit.text.batching import bucketed_loader, length_sorted_chunks

__all__ = [
    "BOS",
    "EOS",
    "EncodedPair",
    "Seq2SeqBatch",
    "Seq2SeqDataConfig",
    "build_vocabs",
    "collate_pairs",
    "encode_pairs",
    "in_order",
    "load_pairs",
    "pair_batches",
    "source_batches",
    "tokenize",
]

BOS, EOS = "<bos>", "<eos>"
SPECIALS = (BOS, EOS)
TARGET = "target"  # the target vocabulary's name (vocab-target.json)


@dataclass(frozen=True)
class Seq2SeqDataConfig:
    """Which sentence pairs, and how they become batches."""

    dataset: str = "multi30k"  # multi30k | parallel:FOLDER | pairs:PATH (a TSV)
    src: str = "de"  # source language (multi30k: de or en; parallel: the source file suffix)
    tgt: str = "en"  # target language
    lowercase: bool = False  # lower-case both sides before anything else
    min_freq: int = 2  # words seen fewer times in the training side become <unk>
    max_vocab: int | None = None  # each vocabulary's cap, specials included; None: no cap
    train_max_len: int = 100  # training sentences are cut to this many tokens (either side)
    batch_size: int = 64  # sentence pairs per training batch, bucketed by source length
    val_fraction: float = 0.05  # user data without a val split: share of train held out
    test_fraction: float = 0.05  # user data without a test split: share of train held out
    split_seed: int = 0  # seeds those hold-outs (apart from trainer.seed)

    def __post_init__(self) -> None:
        for name in ("min_freq", "train_max_len", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"data: {name} must be ≥ 1, got {getattr(self, name)}")
        if self.src == self.tgt:
            raise ValueError(f"data: src and tgt must differ, both are {self.src!r}")


def load_pairs(config: Seq2SeqDataConfig) -> ParallelData:
    """The sentence pairs ``config.dataset`` names, in the direction src → tgt."""
    name = config.dataset
    if name.startswith("pairs:"):
        return datasets.load(
            name, "seq2seq", val_fraction=config.val_fraction,
            test_fraction=config.test_fraction, seed=config.split_seed,
        )  # fmt: skip
    if name.startswith("parallel:"):
        return datasets.load(
            name, "seq2seq", src=config.src, tgt=config.tgt, val_fraction=config.val_fraction,
            test_fraction=config.test_fraction, seed=config.split_seed,
        )  # fmt: skip
    return datasets.load(name, "seq2seq", src=config.src, tgt=config.tgt)


def tokenize(text: str, config: Seq2SeqDataConfig) -> list[str]:
    """One sentence's tokens as the vocabularies see them."""
    return unicode_word_tokenize(text, lower=config.lowercase)


def build_vocabs(data: ParallelData, config: Seq2SeqDataConfig) -> tuple[Vocab, Vocab]:
    """(source, target) vocabularies of the training pairs, most frequent first."""

    def build(texts: Iterator[str]) -> Vocab:
        return Vocab.build(
            (tokenize(t, config) for t in texts), min_freq=config.min_freq,
            max_size=config.max_vocab, specials=SPECIALS,
        )  # fmt: skip

    return (
        build(p.source for p in data.train),
        build(p.target for p in data.train),
    )


@dataclass(frozen=True, slots=True)
class EncodedPair:
    """A sentence pair as ids: the source's tokens, and the target's (without <bos>/<eos>)."""

    source: list[int]
    target: list[int]


def encode_pairs(
    pairs: Sequence[Pair],
    source_vocab: Vocab,
    target_vocab: Vocab,
    config: Seq2SeqDataConfig,
    *,
    cut: bool,
) -> list[EncodedPair]:
    """Ids of every pair; with ``cut`` (training) each side is cut to ``config.train_max_len``
    tokens (the decoder's target then ends without the sentence's own end)."""
    limit = config.train_max_len if cut else None
    return [
        EncodedPair(
            source_vocab.encode(tokenize(p.source, config)[:limit]),
            target_vocab.encode(tokenize(p.target, config)[:limit]),
        )
        for p in pairs
    ]


@dataclass
class Seq2SeqBatch:
    """Padded sentence pairs (padding id 0 on both sides)."""

    source: Tensor  # (B, S) source ids
    source_lengths: Tensor  # (B,) int64, each ≥ 1
    target_in: Tensor  # (B, T) <bos> y_1 … y_n, what the decoder reads (teacher forcing)
    target_out: Tensor  # (B, T) y_1 … y_n <eos>, what it predicts; 0 past each end

    @property
    def target_tokens(self) -> int:
        """Tokens the loss scores: every target token and each <eos>."""
        return int((self.target_out != 0).sum())


def _padded(rows: Sequence[Sequence[int]]) -> Tensor:
    out = torch.zeros(len(rows), max(1, max(len(r) for r in rows)), dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out


def collate_pairs(pairs: Sequence[EncodedPair], *, bos: int, eos: int) -> Seq2SeqBatch:
    """Encoded pairs as one padded batch. An empty source reads as one <eos> (the encoder needs a
    step)."""
    if not pairs:
        raise ValueError("collate_pairs: the batch is empty")
    sources = [p.source or [eos] for p in pairs]
    return Seq2SeqBatch(
        source=_padded(sources),
        source_lengths=torch.tensor([len(s) for s in sources], dtype=torch.long),
        target_in=_padded([[bos, *p.target] for p in pairs]),
        target_out=_padded([[*p.target, eos] for p in pairs]),
    )


class _Pairs(Dataset[EncodedPair]):
    def __init__(self, pairs: list[EncodedPair]) -> None:
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> EncodedPair:
        return self.pairs[index]


def pair_batches(
    pairs: list[EncodedPair], target_vocab: Vocab, *, batch_size: int, shuffle: bool, seed: int
) -> DataLoader[Seq2SeqBatch]:
    """Batches of pairs of similar source length; shuffled ones reshuffle by epoch and are
    sharded across DDP ranks under torchrun."""
    collate = partial(collate_pairs, bos=target_vocab.index(BOS), eos=target_vocab.index(EOS))
    return bucketed_loader(
        _Pairs(pairs), [len(p.source) for p in pairs], batch_size=batch_size, shuffle=shuffle,
        seed=seed, collate_fn=collate,
    )  # fmt: skip


def in_order(
    pairs: list[EncodedPair], target_vocab: Vocab, batch_size: int
) -> Iterator[tuple[list[int], Seq2SeqBatch]]:
    """Pairs in source-length-sorted batches: (positions, batch), for results in input order."""
    bos, eos = target_vocab.index(BOS), target_vocab.index(EOS)
    for chosen in length_sorted_chunks([len(p.source) for p in pairs], batch_size):
        yield chosen, collate_pairs([pairs[i] for i in chosen], bos=bos, eos=eos)


def source_batches(
    sources: Sequence[str], source_vocab: Vocab, target_vocab: Vocab,
    config: Seq2SeqDataConfig, batch_size: int,
) -> Iterator[tuple[list[int], Seq2SeqBatch]]:  # fmt: skip
    """Source sentences alone, tokenised as ``config`` says, in the batches translation decodes:
    (positions, batch) by :func:`in_order` (the targets empty)."""
    pairs = [EncodedPair(source_vocab.encode(tokenize(text, config)), []) for text in sources]
    return in_order(pairs, target_vocab, batch_size)
