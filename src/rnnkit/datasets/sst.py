"""Stanford Sentiment Treebank: the reader of ``trainDevTestTrees_PTB.zip``.

The zip holds ``trees/train.txt``, ``trees/dev.txt`` and ``trees/test.txt``: one sentence per line
as a labelled PTB-style tree, ``(3 (2 (2 The) (2 Rock)) (4 ...))``, with a sentiment label 0–4 on
every node. It is read in place with :mod:`zipfile`, as strict UTF-8.

Label names (one scheme for both variants):

- ``sst5``: 0 ``"very negative"``, 1 ``"negative"``, 2 ``"neutral"``, 3 ``"positive"``,
  4 ``"very positive"`` (``labels`` in that order);
- ``sst2``: neutral (2) dropped, 0–1 ``"negative"``, 3–4 ``"positive"``.

A sentence is its leaf words joined by single spaces, with the PTB bracket escapes undone
(``-LRB-`` → ``(``, ``-RRB-`` → ``)``, and the square and curly ones) and the backslash escapes
``\\/`` → ``/`` and ``\\*`` → ``*``. Everything else is kept as the treebank has it, including
the `````` and ``''`` quote tokens and a few non-breaking spaces inside words (``8\\xa01/2``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import NamedTuple

from rnnkit.datasets.base import ClassificationData, DatasetFormatError, Example
from rnnkit.datasets.spec import DatasetSpec, RemoteFile

__all__ = [
    "ARCHIVE",
    "SPECS",
    "SST2_LABELS",
    "SST5_LABELS",
    "parse_tree",
    "read_sst2",
    "read_sst5",
]

ARCHIVE = "trainDevTestTrees_PTB.zip"
MEMBERS: dict[str, str] = {
    "train": "trees/train.txt",
    "val": "trees/dev.txt",
    "test": "trees/test.txt",
}
SST5_LABELS: tuple[str, ...] = ("very negative", "negative", "neutral", "positive", "very positive")
SST2_LABELS: tuple[str, ...] = ("negative", "positive")
_SST2_OF_SST5: dict[str, str | None] = {
    "0": "negative",
    "1": "negative",
    "2": None,
    "3": "positive",
    "4": "positive",
}

_PTB_ESCAPES = {
    "-LRB-": "(",
    "-RRB-": ")",
    "-LSB-": "[",
    "-RSB-": "]",
    "-LCB-": "{",
    "-RCB-": "}",
}
_LABELS = frozenset(_SST2_OF_SST5)
# Tokens: "(", ")" or a run of anything else but ASCII spaces (words may hold a U+00A0).
_TOKEN_RE = re.compile(r"\(|\)|[^ ()]+")


class Phrase(NamedTuple):
    """One node of a tree: its label ("0"–"4") and the words it spans."""

    label: str
    words: tuple[str, ...]


class _TreeError(ValueError):
    """A malformed tree; the reader adds the file and line."""


def _unescape(word: str) -> str:
    word = _PTB_ESCAPES.get(word, word)
    return word.replace("\\/", "/").replace("\\*", "*")


def parse_tree(line: str) -> list[Phrase]:
    """Every node of one labelled tree, in pre-order: the root (the whole sentence) first.

    Raises:
        ValueError: the line is not a well-formed tree with a label 0–4 on every node.

    >>> [(p.label, " ".join(p.words)) for p in parse_tree("(3 (2 It) (4 (3 works) (2 -RRB-)))")]
    [('3', 'It works )'), ('2', 'It'), ('4', 'works )'), ('3', 'works'), ('2', ')')]
    """
    words, nodes = _parse(line)
    return [Phrase(label, tuple(words[start:end])) for label, start, end in nodes]


_Node = tuple[str, int, int]  # (label, first word, one past the last word)


def _parse(line: str) -> tuple[list[str], list[_Node]]:
    """The leaf words of one tree, and its nodes in pre-order (the root first) as spans."""
    tokens = _TOKEN_RE.findall(line)
    n_tokens = len(tokens)
    words: list[str] = []
    labels: list[str] = []  # per node, in pre-order
    starts: list[int] = []  # per node: its first word's index in `words`
    ends: list[int] = []  # per node: one past its last word, set when it closes
    open_nodes: list[int] = []
    pos = 0
    if not tokens or tokens[0] != "(":
        raise _TreeError(f"expected '(' at token 1, got {tokens[0] if tokens else 'nothing'!r}")
    while pos < n_tokens:
        token = tokens[pos]
        if token == "(":
            label = tokens[pos + 1] if pos + 1 < n_tokens else "nothing"
            if label not in _LABELS:
                raise _TreeError(f"expected a label 0-4 at token {pos + 2}, got {label!r}")
            open_nodes.append(len(labels))
            labels.append(label)
            starts.append(len(words))
            ends.append(-1)
            pos += 2
            if pos < n_tokens and tokens[pos] not in "()":  # a leaf: one word, then ")"
                words.append(_unescape(tokens[pos]))
                pos += 1
                if pos < n_tokens and tokens[pos] != ")":
                    raise _TreeError(f"expected ')' after a word at token {pos + 1}")
            elif pos < n_tokens and tokens[pos] == ")":
                raise _TreeError(f"a node with no words at token {pos + 1}")
        elif token == ")":
            if not open_nodes:
                raise _TreeError(f"unbalanced ')' at token {pos + 1}")
            ends[open_nodes.pop()] = len(words)
            pos += 1
            if not open_nodes and pos < n_tokens:
                raise _TreeError(f"text after the end of the tree at token {pos + 1}")
        else:
            raise _TreeError(f"a word beside subtrees at token {pos + 1}: {token!r}")
    if open_nodes:
        raise _TreeError(f"the tree ends early: {len(open_nodes)} unclosed '('")
    return words, list(zip(labels, starts, ends, strict=True))


def read_sst5(
    folder: Path, *, phrases: bool = False, lowercase: bool = False
) -> ClassificationData:
    """Read fine-grained SST (5 classes) from ``folder / "trainDevTestTrees_PTB.zip"``.

    Args:
        folder: the folder holding the zip (its checksum is not checked here, its members are).
        phrases: if true, ``train`` holds every labelled phrase of the training trees (every
            node's span with its label; the sentences among them), each distinct text once, with
            the label it has where it first occurs (trees in file order, nodes in pre-order).
            ``val`` and ``test`` stay whole sentences either way.
        lowercase: lower-case every text (before the de-duplication of phrases).

    Returns:
        8,544 / 1,101 / 2,210 sentences (train / val = upstream dev / test); with ``phrases``,
        159,274 training phrases (156,817 with ``lowercase``). Labels :data:`SST5_LABELS`.

    Raises:
        DatasetFormatError: the zip is unreadable, lacks a member, or holds a bad line (named).
    """
    return _read(Path(folder), classes=5, phrases=phrases, lowercase=lowercase)


def read_sst2(
    folder: Path, *, phrases: bool = False, lowercase: bool = False
) -> ClassificationData:
    """Read binary SST (SST-2) from ``folder / "trainDevTestTrees_PTB.zip"``.

    Neutral sentences (and, with ``phrases``, neutral phrases) are dropped; labels 0–1 become
    ``"negative"``, 3–4 ``"positive"``. Arguments as :func:`read_sst5`.

    Returns:
        6,920 / 872 / 1,821 sentences; with ``phrases``, 77,616 training phrases (77,195 with
        ``lowercase``). Labels :data:`SST2_LABELS`.
    """
    return _read(Path(folder), classes=2, phrases=phrases, lowercase=lowercase)


def _read(folder: Path, *, classes: int, phrases: bool, lowercase: bool) -> ClassificationData:
    path = folder / ARCHIVE
    names = SST5_LABELS if classes == 5 else SST2_LABELS

    def name_of(label: str) -> str | None:
        return SST5_LABELS[int(label)] if classes == 5 else _SST2_OF_SST5[label]

    splits: dict[str, list[Example]] = {}
    for split, trees in _read_trees(path).items():
        every_phrase = phrases and split == "train"
        examples: list[Example] = []
        seen: set[str] = set()
        for words, nodes in trees:
            for label, start, end in nodes if every_phrase else nodes[:1]:
                name = name_of(label)
                if name is None:
                    continue
                text = " ".join(words[start:end])
                if lowercase:
                    text = text.lower()
                if every_phrase:
                    if text in seen:
                        continue
                    seen.add(text)
                examples.append(Example(text, name))
        splits[split] = examples
    return ClassificationData(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        labels=list(names),
        name=f"sst{classes}",
    )


def _read_trees(path: Path) -> dict[str, list[tuple[list[str], list[_Node]]]]:
    """``{split: [(words, nodes), ...]}``, one entry per tree (see :func:`_parse`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            present = set(archive.namelist())
            missing = [member for member in MEMBERS.values() if member not in present]
            if missing:
                raise DatasetFormatError(
                    f"{path}: no member {', '.join(missing)}; expected "
                    f"{', '.join(MEMBERS.values())} (the layout of {ARCHIVE})"
                )
            raw = {split: archive.read(member) for split, member in MEMBERS.items()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DatasetFormatError(
            f"{path}: not a readable zip archive ({error}); expected {ARCHIVE} holding "
            f"{', '.join(MEMBERS.values())}"
        ) from None
    trees: dict[str, list[tuple[list[str], list[_Node]]]] = {}
    for split, data in raw.items():
        where = f"{path}:{MEMBERS[split]}"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            bad_line = data[: error.start].count(b"\n") + 1
            raise DatasetFormatError(
                f"{where}: line {bad_line}: not UTF-8 (byte 0x{data[error.start]:02x} at byte "
                f"offset {error.start}); expected UTF-8 text"
            ) from None
        parsed: list[tuple[list[str], list[_Node]]] = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                parsed.append(_parse(line))
            except _TreeError as error:
                raise DatasetFormatError(
                    f"{where}: line {number}: {error}; expected a labelled tree such as "
                    f"'(3 (2 It) (4 works))'"
                ) from None
        if not parsed:
            raise DatasetFormatError(f"{where}: no trees; expected one labelled tree per line")
        trees[split] = parsed
    return trees


_FILES = (
    RemoteFile(
        ARCHIVE,
        "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip",
        "5c613a4f673fc74097d523a2c83f38e0cc462984d847b82c7aaf36b01cbbbfcc",
    ),
)
_CITATION = (
    "Richard Socher, Alex Perelygin, Jean Wu, Jason Chuang, Christopher D. Manning, Andrew Ng, "
    "Christopher Potts. Recursive Deep Models for Semantic Compositionality Over a Sentiment "
    "Treebank. EMNLP 2013."
)
_LICENSE = (
    "No explicit license on https://nlp.stanford.edu/sentiment/; used and redistributed for "
    "research. Sentences from rottentomatoes.com reviews (Pang & Lee)."
)
_HOMEPAGE = "https://nlp.stanford.edu/sentiment/"

SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="sst2",
        task="classify",
        description="Stanford Sentiment Treebank, binary (neutral dropped): "
        "6,920 / 872 / 1,821 sentences",
        folder="sst",
        files=_FILES,
        reader=read_sst2,
        citation=_CITATION,
        license=_LICENSE,
        homepage=_HOMEPAGE,
    ),
    DatasetSpec(
        name="sst5",
        task="classify",
        description="Stanford Sentiment Treebank, 5 classes: 8,544 / 1,101 / 2,210 sentences",
        folder="sst",
        files=_FILES,
        reader=read_sst5,
        citation=_CITATION,
        license=_LICENSE,
        homepage=_HOMEPAGE,
    ),
)
