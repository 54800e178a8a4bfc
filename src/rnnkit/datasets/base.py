"""The shapes every reader returns, and the two errors of this package.

A reader turns upstream files into one container per task type, each a :class:`SplitData`: three
lists named ``train``, ``val`` and ``test`` (for every dataset, whatever upstream calls them:
SST's *dev* and CoNLL's *testa* are ``val``) and the dataset's name, plus what the task needs:

- :class:`ClassificationData`: :class:`Example` items (a text and its label) and the label names
  in a fixed order;
- :class:`TaggingData`: :class:`TaggedSentence` items (tokens, one tag per token, and optional
  feature columns), the tag set of the training split and the tag scheme;
- :class:`CorpusData`: one token stream per split (words or characters, in reading order), for
  language models;
- :class:`ParallelData`: :class:`Pair` items (a source sentence and its translation) and the two
  languages, for sequence-to-sequence tasks (read by :mod:`rnnkit.datasets.parallel`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from rnnkit.text.tags import OUTSIDE, SCHEME_PREFIXES, SCHEMES, split_tag

__all__ = [
    "SPLITS",
    "ClassificationData",
    "CorpusData",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "Example",
    "Pair",
    "ParallelData",
    "SplitData",
    "TaggedSentence",
    "TaggingData",
    "decode_utf8",
    "in_scheme",
    "labels_in_order",
    "read_utf8",
    "tags_in_order",
]

SPLITS: tuple[str, ...] = ("train", "val", "test")

ItemT = TypeVar("ItemT")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable; the message says which files to put
    where and where they come from."""


class DatasetFormatError(ValueError):
    """A file is not what its reader expects; the message names the file, the line (or member)
    and what was expected."""


@dataclass(frozen=True)
class SplitData(Generic[ItemT]):
    """What every dataset container has: the ``train``, ``val`` and ``test`` items and a name.

    Args:
        train: training items.
        val: validation items (for model selection and early stopping).
        test: test items (report these; never select on them).
        name: the dataset's name, e.g. ``"sst2"`` (keyword only, so that each container's own
            fields follow the three splits).
    """

    train: list[ItemT]
    val: list[ItemT]
    test: list[ItemT]
    name: str = field(default="", kw_only=True)

    def split(self, name: str) -> list[ItemT]:
        """The items of split ``name`` (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in SPLITS:
            raise ValueError(f"{type(self).__name__}: split must be one of {SPLITS}, got {name!r}")
        items: list[ItemT] = getattr(self, name)
        return items


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text.

    Args:
        text: the document or sentence, as the reader decoded it.
        label: the class name (a string, also for numeric upstream labels).
    """

    text: str
    label: str


@dataclass(frozen=True)
class ClassificationData(SplitData[Example]):
    """A text-classification dataset split into ``train``, ``val`` and ``test``.

    Args:
        train: training examples.
        val: validation examples (for model selection and early stopping).
        test: test examples (report these; never select on them).
        labels: every class name, in the dataset's natural order (a scale such as SST's runs from
            the most negative to the most positive; otherwise sorted). Index ``i`` is class ``i``.
        name: the dataset's name, e.g. ``"sst2"``.

    Raises:
        ValueError: a label is repeated in ``labels``, or an example's label is not in it.

    >>> data = ClassificationData(
    ...     train=[Example("good film", "pos"), Example("dull", "neg")],
    ...     val=[Example("fine", "pos")],
    ...     test=[Example("awful", "neg")],
    ...     labels=["neg", "pos"],
    ...     name="toy",
    ... )
    >>> data.counts()["train"]
    {'neg': 1, 'pos': 1}
    """

    labels: list[str]

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            repeated = sorted(label for label, n in Counter(self.labels).items() if n > 1)
            raise ValueError(f"ClassificationData {self.name!r}: labels repeated: {repeated}")
        known = set(self.labels)
        for split in SPLITS:
            for example in self.split(split):
                if example.label not in known:
                    raise ValueError(
                        f"ClassificationData {self.name!r}: {split} has label "
                        f"{example.label!r}, which is not in labels {self.labels}"
                    )

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples per label for each split: ``{"train": {label: n, ...}, "val": ..., ...}``,
        every label present (0 where a split lacks it), in the order of :attr:`labels`."""
        result: dict[str, dict[str, int]] = {}
        for split in SPLITS:
            tally = Counter(example.label for example in self.split(split))
            result[split] = {label: tally[label] for label in self.labels}
        return result

    def summary(self) -> str:
        """A plain-text table of examples per label (rows) and split (columns), with totals."""
        counts = self.counts()
        width = max([len("label"), len("total"), *(len(label) for label in self.labels)])
        header = f"{'label':<{width}}" + "".join(f"{split:>9}" for split in SPLITS)
        lines = [f"{self.name or 'dataset'}: {len(self.labels)} labels", header]
        for label in self.labels:
            cells = "".join(f"{counts[split][label]:>9,}" for split in SPLITS)
            lines.append(f"{label:<{width}}{cells}")
        totals = "".join(f"{len(self.split(split)):>9,}" for split in SPLITS)
        lines.append(f"{'total':<{width}}{totals}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TaggedSentence:
    """One sentence with a tag per token, e.g. a CoNLL-2003 sentence with its NER tags.

    Args:
        tokens: the words, as the file has them.
        tags: one tag per token (``"O"`` or ``"<prefix>-<type>"``, e.g. ``"B-PER"``).
        features: one tuple per extra column the reader kept (part of speech, chunk, an SRL
            predicate indicator, ...), each as long as ``tokens``; the column names are the
            container's :attr:`TaggingData.feature_names`.

    Raises:
        ValueError: no tokens, or a tag or feature tuple whose length is not the tokens'.

    >>> s = TaggedSentence(("EU", "rejects"), ("I-ORG", "O"), features=(("NNP", "VBZ"),))
    >>> s.tags[0], s.features[0][1]
    ('I-ORG', 'VBZ')
    """

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    features: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if not self.tokens:
            raise ValueError("TaggedSentence: no tokens; a sentence has at least one")
        if len(self.tags) != len(self.tokens):
            raise ValueError(
                f"TaggedSentence: {len(self.tokens)} tokens but {len(self.tags)} tags; expected "
                "one tag per token"
            )
        for index, column in enumerate(self.features):
            if len(column) != len(self.tokens):
                raise ValueError(
                    f"TaggedSentence: {len(self.tokens)} tokens but feature {index} has "
                    f"{len(column)} values; expected one value per token"
                )


@dataclass(frozen=True)
class TaggingData(SplitData[TaggedSentence]):
    """A sequence-tagging dataset (NER, chunking, SRL, ...) split into ``train``, ``val`` and
    ``test``.

    Args:
        train: training sentences.
        val: validation sentences (for model selection and early stopping).
        test: test sentences (report these; never select on them).
        tags: the tag set of the training split, sorted with ``"O"`` first (see
            :func:`tags_in_order`). Index ``i`` is tag ``i``; every tag of ``val`` and ``test``
            is among them.
        feature_names: the name of each feature column, in the order of
            :attr:`TaggedSentence.features` (e.g. ``("pos", "chunk")``).
        scheme: the tag scheme, ``"iob1"``, ``"iob2"`` or ``"bioes"`` (see
            :mod:`rnnkit.text.tags`); CoNLL-2003 keeps its original ``"iob1"``.
        files: the file each split was read from (``{"train": ".../eng.train", ...}``); a split
            held out from the training file names that file.
        name: the dataset's name, e.g. ``"conll2003"``.

    Raises:
        ValueError: an unknown scheme, a tag repeated in ``tags`` or outside the scheme, a
            sentence's tag not in ``tags``, or a sentence whose feature count is not
            ``len(feature_names)``.

    >>> data = TaggingData(
    ...     train=[TaggedSentence(("Paris", "sleeps"), ("B-LOC", "O"))],
    ...     val=[TaggedSentence(("Rome",), ("B-LOC",))],
    ...     test=[],
    ...     tags=["O", "B-LOC"],
    ...     scheme="iob2",
    ...     name="toy",
    ... )
    >>> data.counts()["train"]
    {'sentences': 1, 'tokens': 2}
    """

    tags: list[str]
    feature_names: tuple[str, ...] = ()
    scheme: str = "iob2"
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = f"TaggingData {self.name!r}"
        if self.scheme not in SCHEMES:
            raise ValueError(f"{owner}: scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if len(set(self.tags)) != len(self.tags):
            repeated = sorted(tag for tag, n in Counter(self.tags).items() if n > 1)
            raise ValueError(f"{owner}: tags repeated: {repeated}")
        prefixes = SCHEME_PREFIXES[self.scheme]
        for tag in self.tags:
            if not in_scheme(tag, prefixes):
                raise ValueError(
                    f"{owner}: tag {tag!r} is not in the {self.scheme} scheme (prefixes "
                    f"{', '.join(prefixes)})"
                )
        known = set(self.tags)
        n_features = len(self.feature_names)
        for split in SPLITS:
            for index, sentence in enumerate(self.split(split)):
                unknown = set(sentence.tags) - known
                if unknown:
                    raise ValueError(
                        f"{owner}: {split} sentence {index} has tag {min(unknown)!r}, which is "
                        f"not in tags {self.tags}"
                    )
                if len(sentence.features) != n_features:
                    raise ValueError(
                        f"{owner}: {split} sentence {index} has {len(sentence.features)} "
                        f"feature columns, expected {n_features} ({self.feature_names})"
                    )

    def counts(self) -> dict[str, dict[str, int]]:
        """Sentences and tokens per split: ``{"train": {"sentences": n, "tokens": m}, ...}``."""
        return {
            split: {
                "sentences": len(self.split(split)),
                "tokens": sum(len(sentence.tokens) for sentence in self.split(split)),
            }
            for split in SPLITS
        }

    def summary(self) -> str:
        """A plain-text table: sentences, tokens and tokens per tag (rows) by split (columns)."""
        counts = self.counts()
        tallies = {
            split: Counter(tag for sentence in self.split(split) for tag in sentence.tags)
            for split in SPLITS
        }
        features = f"; features: {', '.join(self.feature_names)}" if self.feature_names else ""
        rows = [
            ("sentences", [counts[split]["sentences"] for split in SPLITS]),
            ("tokens", [counts[split]["tokens"] for split in SPLITS]),
            *((tag, [tallies[split][tag] for split in SPLITS]) for tag in self.tags),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [
            f"{self.name or 'dataset'}: {len(self.tags)} tags ({self.scheme}){features}",
            f"{'':<{width}}" + "".join(f"{split:>10}" for split in SPLITS),
        ]
        lines += [
            f"{label:<{width}}" + "".join(f"{n:>10,}" for n in cells) for label, cells in rows
        ]
        return "\n".join(lines)


LEVELS: tuple[str, ...] = ("word", "char")


@dataclass(frozen=True)
class CorpusData(SplitData[str]):
    """A language-modelling corpus: each split one stream of tokens in reading order.

    Args:
        train, val, test: the tokens of each split (words, or single characters), in order; a
            split a dataset does not have is empty (Tiny Shakespeare has no test split).
        level: ``"word"`` or ``"char"``: what a token is (perplexity is reported for words,
            bits per character for characters).
        eos: the token that ends each line (``"<eos>"``), or None where line ends are kept as
            ``"\\n"`` characters (raw character text).
        files: the file each split was read from; a split cut from one file names that file.
        name: the dataset's name, e.g. ``"ptb"``.

    Raises:
        ValueError: an unknown level, or an empty training split.

    >>> data = CorpusData(["a", "b", "<eos>"], ["a", "<eos>"], [], level="word", eos="<eos>")
    >>> data.counts()
    {'train': 3, 'val': 2, 'test': 0}
    """

    level: str = "word"
    eos: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(
                f"CorpusData {self.name!r}: level must be one of {LEVELS}, got {self.level!r}"
            )
        if not self.train:
            where = self.files.get("train", "the training split")
            raise ValueError(f"CorpusData {self.name!r}: {where} holds no text")

    def counts(self) -> dict[str, int]:
        """Tokens per split."""
        return {split: len(self.split(split)) for split in SPLITS}

    def summary(self) -> str:
        """One line per split: its tokens; and the number of distinct training tokens."""
        unit = "words" if self.level == "word" else "characters"
        lines = [f"{self.name or 'corpus'}: {unit}, {len(set(self.train)):,} distinct in train"]
        lines += [f"{split:>6} {n:>12,} {unit}" for split, n in self.counts().items()]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Pair:
    """One sentence and its translation.

    Args:
        source: the sentence to translate, as read (without its line end and surrounding
            whitespace).
        target: its translation, likewise.
    """

    source: str
    target: str


@dataclass(frozen=True)
class ParallelData(SplitData[Pair]):
    """A parallel corpus (sentence pairs, for translation) split into ``train``, ``val`` and
    ``test``.

    Args:
        train, val, test: the pairs of each split, in file order.
        src: the source language: its code, or the suffix of its files (``"de"``).
        tgt: the target language, likewise (``"en"``); a dataset read in the other direction
            swaps ``src`` and ``tgt`` and each pair's two sides.
        files: the two files each split was read from, ``(source file, target file)`` (both the
            same file for a TSV of pairs); a split cut from the training files names them.
        name: the dataset's name, e.g. ``"multi30k"`` (its direction is ``src`` → ``tgt``).

    Raises:
        ValueError: an empty training split, or ``src`` equal to ``tgt``.

    >>> data = ParallelData(
    ...     [Pair("ein Hund", "a dog"), Pair("zwei Katzen", "two cats")],
    ...     [Pair("ein Mann", "a man")],
    ...     [],
    ...     src="de",
    ...     tgt="en",
    ...     name="toy",
    ... )
    >>> data.counts()
    {'train': 2, 'val': 1, 'test': 0}
    """

    src: str = "src"
    tgt: str = "tgt"
    files: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = f"ParallelData {self.name!r}"
        if self.src == self.tgt:
            raise ValueError(
                f"{owner}: src and tgt must be two different languages, got {self.src!r} twice"
            )
        if not self.train:
            named = list(dict.fromkeys(self.files.get("train", ())))
            where = " and ".join(named) or "the training split"
            verb = "hold" if len(named) > 1 else "holds"
            raise ValueError(f"{owner}: {where} {verb} no sentence pairs")

    def counts(self) -> dict[str, int]:
        """Pairs per split."""
        return {split: len(self.split(split)) for split in SPLITS}

    def summary(self) -> str:
        """One line per split: its pairs and the whitespace-separated words of each side."""
        lines = [f"{self.name or 'parallel data'}: {self.src} -> {self.tgt}"]
        for split, n in self.counts().items():
            pairs = self.split(split)
            source = sum(len(pair.source.split()) for pair in pairs)
            target = sum(len(pair.target.split()) for pair in pairs)
            lines.append(
                f"{split:>6} {n:>10,} pairs {source:>12,} {self.src} words "
                f"{target:>12,} {self.tgt} words"
            )
        return "\n".join(lines)


def in_scheme(tag: str, prefixes: Sequence[str]) -> bool:
    """Whether ``tag`` is ``O`` or ``<prefix>-<type>`` with one of ``prefixes``."""
    if tag == OUTSIDE:
        return True
    try:
        prefix, _kind = split_tag(tag)
    except ValueError:
        return False
    return prefix in prefixes


def labels_in_order(examples: Sequence[Example]) -> list[str]:
    """The sorted set of labels that occur in ``examples``."""
    return sorted({example.label for example in examples})


def tags_in_order(sentences: Iterable[TaggedSentence]) -> list[str]:
    """The set of tags that occur in ``sentences``, sorted, with ``O`` first where it occurs.

    >>> tags_in_order([TaggedSentence(("a", "b", "c"), ("I-PER", "O", "B-LOC"))])
    ['O', 'B-LOC', 'I-PER']
    """
    found = {tag for sentence in sentences for tag in sentence.tags}
    return sorted(found, key=lambda tag: (tag != OUTSIDE, tag))


def decode_utf8(where: str | Path, data: bytes) -> str:
    """``data`` as strict UTF-8, a leading byte-order mark dropped; the error names ``where``,
    the line and the byte offset of the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DatasetFormatError(
            f"{where}: line {line}: not UTF-8 (byte 0x{data[error.start]:02x} at byte offset "
            f"{error.start}); expected UTF-8 text (re-save the file as UTF-8)"
        ) from None
    return text.removeprefix("\ufeff")


def read_utf8(path: Path, where: str | None = None) -> str:
    """The text of file ``path`` (see :func:`decode_utf8`); messages name it as ``where``
    (default: the path).

    Raises:
        DatasetNotFoundError: no such file.
        DatasetFormatError: ``path`` is a folder, or the file is not UTF-8.
    """
    label = str(path) if where is None else where
    if not path.exists():
        raise DatasetNotFoundError(f"{label}: no such file")
    if path.is_dir():
        raise DatasetFormatError(f"{label}: is a folder; expected a file")
    return decode_utf8(label, path.read_bytes())
