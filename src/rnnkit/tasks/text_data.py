"""Classification data: the ``data`` config section, and from a dataset to batches — tokenize,
build the vocabulary on train, encode, and bucket by length so the recurrent layers see real
lengths and no padding work."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

import rnnkit.datasets as datasets
from rnnkit.datasets import ClassificationData, DatasetFormatError, Example
from rnnkit.datasets.splits import check_fractions
from rnnkit.text import (
    TextBatch,
    Vocab,
    char_tokenize,
    pad_batch,
    word_tokenize,
)
from rnnkit.text.batching import bucketed_loader, length_sorted_chunks

TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"word": word_tokenize, "char": char_tokenize}


@dataclass(frozen=True)
class DataConfig:
    """Which data, and how it becomes batches."""

    dataset: str = (
        "sst2"  # a name from `rnnkit datasets`, or csv:PATH, tsv:PATH, jsonl:PATH, folder:PATH
    )
    val_fraction: float = 0.1  # share of train held out for validation when the dataset has none
    test_fraction: float = (
        0.0  # your file: share held out for test where no test file lies beside it (0: needs one)
    )
    text_field: str = (
        "text"  # your CSV/TSV/JSONL: text column, a name or 0-based number; title,body: joined
    )
    label_field: str = "label"  # your CSV/TSV/JSONL: label column, a name or 0-based number
    header: bool = True  # your files: line 1 names the columns; --no-header: every line is a row
    strip: tuple[
        str, ...
    ] = ()  # 20newsgroups: any of headers, footers, quotes to remove from posts
    phrases: bool = False  # SST: also train on every labelled phrase of the training trees
    tokens: str = "word"  # word (lowercased words and punctuation marks) | char
    min_freq: int = 2  # tokens seen fewer times in train become <unk>
    max_vocab: int | None = None  # vocabulary size cap, specials included; None: no cap
    max_len: int | None = 400  # tokens kept from the start of each text; None: the whole text
    batch_size: int = 32  # texts per batch, bucketed by length
    split_seed: int = 0  # seeds the val/test shares held out of train (apart from trainer.seed)

    def __post_init__(self) -> None:
        if self.tokens not in TOKENIZERS:
            raise ValueError(f"data: tokens must be word or char, got {self.tokens!r}")
        if self.batch_size < 1:
            raise ValueError(f"data: batch_size must be ≥ 1, got {self.batch_size}")
        if self.max_len is not None and self.max_len < 1:
            raise ValueError(f"data: max_len must be ≥ 1 or None, got {self.max_len}")
        fractions = {"val_fraction": self.val_fraction, "test_fraction": self.test_fraction}
        check_fractions("data", fractions)


def load_dataset(config: DataConfig) -> ClassificationData:
    """The dataset ``config.dataset`` names, with the options it takes set from ``config``; the
    validation split held out of train (where the dataset has none) is seeded by
    ``config.split_seed``."""
    seed = config.split_seed
    wanted: dict[str, Any] = {"val_fraction": config.val_fraction, "seed": seed}
    if config.strip:
        wanted["remove"] = tuple(config.strip)
    if config.phrases:
        wanted["phrases"] = True
    if ":" in config.dataset:  # the user's own files
        return load_user_data(config)
    accepted = next(
        (d["options"] for d in datasets.available() if d["name"] == config.dataset), None
    )
    if accepted is None:
        datasets.load(config.dataset)  # raises the registry's error listing the known names
        raise AssertionError("unreachable")
    for option, flag in (("remove", "strip"), ("phrases", "phrases")):
        if option in wanted and option not in accepted:
            raise ValueError(f"data: {flag} does not apply to {config.dataset}")
    if "lowercase" in accepted:  # a reader that de-duplicates texts does it as the tokens see them
        wanted["lowercase"] = config.tokens == "word"
    return datasets.load(config.dataset, **{k: v for k, v in wanted.items() if k in accepted})


def load_user_data(config: DataConfig) -> ClassificationData:
    """The user's own files ``config.dataset`` names (``csv:PATH``, ``folder:PATH``, …), read with
    the data section's columns, header and split settings; training data of one label only is
    one clear error."""
    options: dict[str, Any] = {
        "val_fraction": config.val_fraction,
        "test_fraction": config.test_fraction,
        "seed": config.split_seed,
    }
    defaults, folder = DataConfig(), config.dataset.startswith("folder:")
    for name in ("text_field", "label_field", "header"):  # a folder per class has no columns
        value = getattr(config, name)
        if not folder or value != getattr(defaults, name):
            options[name] = value
    data: ClassificationData = datasets.load(config.dataset, **options)
    if len(data.labels) < 2:
        raise DatasetFormatError(
            f"{config.dataset}: every training example has the label {data.labels[0]!r} "
            f"(label_field {config.label_field!r}); expected at least two labels (--label-field "
            "names the label column, by name or 0-based number)"
        )
    return data


def build_vocab(examples: Sequence[Example], config: DataConfig) -> Vocab:
    """The vocabulary of the training texts."""
    tokenize = TOKENIZERS[config.tokens]
    return Vocab.build(
        (tokenize(e.text) for e in examples), min_freq=config.min_freq, max_size=config.max_vocab
    )


def encode_texts(texts: Sequence[str], vocab: Vocab, config: DataConfig) -> list[list[int]]:
    """Token ids of each text, cut to ``max_len``; a text with no tokens becomes one <unk>."""
    tokenize, unk = TOKENIZERS[config.tokens], special_index(vocab, "unk")
    return [vocab.encode(tokenize(text))[: config.max_len] or [unk] for text in texts]


def special_index(vocab: Vocab, which: str) -> int:
    """The index of the vocabulary's ``pad`` or ``unk`` token, which classification needs."""
    index = vocab.pad_index if which == "pad" else vocab.unk_index
    if index is None:
        raise ValueError(f"the vocabulary has no <{which}> token, which classification needs")
    return index


class EncodedSplit(torch.utils.data.Dataset[tuple[list[int], int]]):
    """Encoded texts with their label indices."""

    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[list[int], int]:
        return self.ids[index], self.labels[index]


def encode_split(
    examples: Sequence[Example], vocab: Vocab, labels: Sequence[str], config: DataConfig
) -> EncodedSplit:
    index = {label: i for i, label in enumerate(labels)}
    ids = encode_texts([e.text for e in examples], vocab, config)
    return EncodedSplit(ids, [index[e.label] for e in examples])


def collate(items: list[tuple[list[int], int]], *, pad_index: int) -> TextBatch:
    """A list of (ids, label) as a padded :class:`TextBatch`."""
    ids, lengths = pad_batch([seq for seq, _ in items], pad_index=pad_index)
    return TextBatch(ids, lengths, torch.tensor([label for _, label in items], dtype=torch.long))


class _PadIndex:
    """A picklable collate function bound to a pad index (for worker processes)."""

    def __init__(self, pad_index: int) -> None:
        self.pad_index = pad_index

    def __call__(self, items: list[tuple[list[int], int]]) -> TextBatch:
        return collate(items, pad_index=self.pad_index)


def batches(
    split: EncodedSplit, *, batch_size: int, shuffle: bool, seed: int, pad_index: int
) -> DataLoader[Any]:
    """Length-bucketed batches; shuffled ones are sharded across DDP ranks when torchrun runs."""
    return bucketed_loader(
        split, [len(ids) for ids in split.ids], batch_size=batch_size, shuffle=shuffle,
        seed=seed, collate_fn=_PadIndex(pad_index),
    )  # fmt: skip


def iterate_texts(
    texts: Sequence[str], vocab: Vocab, config: DataConfig, *, batch_size: int
) -> Iterator[tuple[list[int], TextBatch]]:
    """Unlabelled texts in length-sorted batches: (positions in ``texts``, batch)."""
    ids = encode_texts(texts, vocab, config)
    for chosen in length_sorted_chunks([len(row) for row in ids], batch_size):
        padded, lengths = pad_batch([ids[i] for i in chosen], pad_index=special_index(vocab, "pad"))
        yield chosen, TextBatch(padded, lengths)
