"""Language-modelling data: the ``data`` section of ``rnnkit train lm``, the vocabulary of the
training stream, and contiguous batches for truncated backpropagation through time.

A split's token stream is cut into ``batch_size`` contiguous rows (the tail that does not fill a
row is dropped, as pytorch/examples does); batch ``k`` holds columns ``[k·T, (k+1)·T)`` of every
row and its targets are the same columns shifted by one. Row ``b`` of batch ``k + 1`` continues
row ``b`` of batch ``k``, so a model that carries its state from one batch to the next reads
each row as one long sequence. With ``variable_bptt`` each batch's length is drawn as AWD-LSTM
draws it (T with probability 0.95, else T/2, then N(·, 5), at least 5), seeded by the epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

import rnnkit.datasets as datasets
from rnnkit.datasets import CorpusData
from rnnkit.text import Vocab

__all__ = ["LMBatch", "LMDataConfig", "StreamBatches", "build_vocab", "encode", "load_corpus"]

UNK = "<unk>"
MAX_EXTRA_STEPS = 40  # AWD-LSTM's max_seq_len_delta: a drawn length is at most bptt + 40


@dataclass(frozen=True)
class LMDataConfig:
    """Which text, and how it becomes batches."""

    dataset: str = "ptb"  # ptb | ptb-char | wikitext-2 | tinyshakespeare | text:PATH
    level: str = "word"  # text:PATH only: word (whitespace tokens, <eos> per line) | char
    batch_size: int = 20  # contiguous rows of each training batch
    bptt: int = 35  # time steps per batch (truncated backpropagation through time)
    variable_bptt: bool = False  # AWD-LSTM's random batch lengths around bptt
    eval_batch_size: int = 10  # rows of the validation after each epoch
    test_batch_size: int = 1  # rows of `rnnkit evaluate` (1: each split read as one sequence)
    min_freq: int = 1  # text:PATH, words: words seen fewer times in train become <unk>
    max_vocab: int | None = None  # text:PATH, words: vocabulary cap; None: every word
    val_fraction: float = 0.05  # text:PATH, one file: the share of lines held out to validate
    test_fraction: float = 0.05  # text:PATH, one file: the share of lines held out to test

    def __post_init__(self) -> None:
        for name in ("batch_size", "bptt", "eval_batch_size", "test_batch_size", "min_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"data: {name} must be ≥ 1, got {getattr(self, name)}")
        if self.level not in ("word", "char"):
            raise ValueError(f"data: level must be word or char, got {self.level!r}")


def load_corpus(config: LMDataConfig) -> CorpusData:
    """The token streams ``config.dataset`` names."""
    if config.dataset.startswith("text:"):
        return datasets.load(
            config.dataset, "lm", level=config.level, val_fraction=config.val_fraction,
            test_fraction=config.test_fraction,
        )  # fmt: skip
    return datasets.load(config.dataset, "lm")


def build_vocab(data: CorpusData, config: LMDataConfig) -> Vocab:
    """The training stream's tokens, most frequent first, no padding. Words always have
    ``<unk>`` (the corpus's own where it has one: PTB's vocabulary stays exactly 10,000);
    characters have one only if some character of a split is not kept (a held-out character
    training never has, or one ``min_freq`` or ``max_vocab`` leaves out)."""
    specials = (data.eos,) if data.eos is not None else ()

    def build(unk: str | None) -> Vocab:
        return Vocab.build(
            [data.train], min_freq=config.min_freq, max_size=config.max_vocab, pad=None,
            unk=unk, specials=specials,
        )  # fmt: skip

    if data.level == "word":
        return build(UNK)
    vocab = build(None)
    every = set(data.train).union(data.val, data.test)
    return vocab if all(t in vocab for t in every) else build(UNK)


def encode(tokens: Sequence[str], vocab: Vocab) -> Tensor:
    """Token ids (N,) of a stream."""
    return torch.tensor(vocab.encode(tokens), dtype=torch.long)


@dataclass(frozen=True)
class LMBatch:
    """``inputs`` and ``targets`` (B, T) token ids, targets one step ahead; ``scale`` weighs
    the batch's loss by its length over ``bptt`` (AWD-LSTM's learning-rate rescaling for
    variable lengths; 1 otherwise)."""

    inputs: Tensor
    targets: Tensor
    scale: float = 1.0


class StreamBatches:
    """Contiguous TBPTT batches of one token stream (see the module docstring).

    Args:
        ids: (N,) token ids of the split.
        batch_size: rows B.
        bptt: steps T per batch.
        variable: draw each batch's length around ``bptt`` (training only), by ``seed`` and the
            epoch (:meth:`set_epoch`), so a resumed run draws the same lengths.
    """

    def __init__(
        self, ids: Tensor, *, batch_size: int, bptt: int, variable: bool = False, seed: int = 0
    ) -> None:
        columns = ids.numel() // batch_size
        if columns < 2:
            raise ValueError(
                f"lm: a stream of {ids.numel()} tokens is too short for {batch_size} rows of at "
                "least 2 tokens (lower data.batch_size, data.eval_batch_size or "
                "data.test_batch_size)"
            )
        self.rows = ids[: columns * batch_size].view(batch_size, columns)  # (B, N/B)
        self.bptt, self.variable, self.seed = bptt, variable, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def tokens(self) -> int:
        """Targets per epoch: every column but the first, in every row."""
        return self.rows.numel() - self.rows.shape[0]

    def lengths(self) -> list[int]:
        """The steps of each batch of the current epoch."""
        remaining = self.rows.shape[1] - 1
        if not self.variable:
            full, rest = divmod(remaining, self.bptt)
            return [self.bptt] * full + ([rest] if rest else [])
        rng = np.random.default_rng([self.seed, self.epoch])
        out: list[int] = []
        while remaining > 0:
            base = self.bptt if rng.random() < 0.95 else self.bptt / 2
            steps = min(max(5, int(rng.normal(base, 5))), self.bptt + MAX_EXTRA_STEPS)
            out.append(min(steps, remaining))
            remaining -= out[-1]
        return out

    def __len__(self) -> int:
        return len(self.lengths())

    def __iter__(self) -> Iterator[LMBatch]:
        start = 0
        for steps in self.lengths():
            window = self.rows[:, start : start + steps + 1]
            scale = steps / self.bptt if self.variable else 1.0
            yield LMBatch(window[:, :-1], window[:, 1:], scale)
            start += steps
