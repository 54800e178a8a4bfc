"""Tagged sentences in column files: CoNLL-2003 (``eng.train``, ``eng.testa``, ``eng.testb``) and
the user's own files (``load("columns:PATH", "tag")``).

**The column format.** One token per line, its fields separated by whitespace (spaces or tabs, so
a field cannot hold a space); a line that is empty or only whitespace ends a sentence; a line
whose first field is ``-DOCSTART-`` (a CoNLL document boundary) is skipped and ends a sentence
too. Every token line of a file has the same number of columns as its first one. Which column is
the token, which the tag and which are kept as features is chosen by index (negative indices count
from the end). Files are strict UTF-8 (a leading byte-order mark is allowed). CoNLL-2003 English
reads ``token POS chunk NER``::

    -DOCSTART- -X- O O

    EU NNP I-NP I-ORG
    rejects VBZ I-VP O
    German JJ I-NP I-MISC
    call NN I-NP O

    Peter NNP I-NP I-PER
    Blackburn NNP I-NP I-PER

A tag is ``O`` or ``<prefix>-<type>``, with the prefixes of the file's scheme
(:data:`rnnkit.text.tags.SCHEME_PREFIXES`): ``iob1`` (CoNLL-2003's own, where ``B-`` only starts
an entity that directly follows one of the same type) and ``iob2`` use ``B``/``I``, ``bioes``
also ``E`` and ``S``.

**The user's own files**, ``load("columns:PATH", "tag", **options)``:

- ``PATH`` a folder: it holds a ``train`` file, a ``test`` (or ``testb``) file and, if there is
  one, a ``val`` (or ``dev``, ``valid``, ``testa``) file, each with no extension or one of
  ``.txt``, ``.conll``, ``.tsv``, ``.iob``, ``.bio``. Without a val file, ``val_fraction`` of the
  training sentences are held out as val.
- ``PATH`` a file: the training file; ``val_fraction`` and ``test_fraction`` of its sentences
  are held out as val and test.

Held-out sentences are drawn by one seeded permutation (``seed``); each split keeps the file's
order. Options: ``token_column`` (default 0), ``tag_column`` (default -1, the last),
``features`` (column indices, default none), ``scheme`` (default ``"iob2"``),
``val_fraction`` (0.1), ``test_fraction`` (0.1), ``seed`` (0). For example, a folder
``srl/`` with ``train.conll``, ``dev.conll`` and ``test.conll`` in the columns
``token POS predicate-indicator tag``::

    >>> data = load("columns:srl", "tag", features=(1, 2))  # doctest: +SKIP
    >>> data.feature_names  # doctest: +SKIP
    ('col1', 'col2')

Anything a reader cannot use stops it with one :class:`DatasetFormatError` line naming the file,
the line and what was expected; a tag of val or test that the training split lacks is one too
(the model could never predict it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from rnnkit.datasets.base import (
    SPLITS,
    DatasetFormatError,
    DatasetNotFoundError,
    TaggedSentence,
    TaggingData,
    in_scheme,
    read_utf8,
    tags_in_order,
)
from rnnkit.datasets.spec import DatasetSpec, RemoteFile, UserFormat
from rnnkit.datasets.splits import random_split
from rnnkit.text.tags import SCHEME_PREFIXES, SCHEMES

__all__ = [
    "CONLL_COLUMNS",
    "CONLL_FILES",
    "DOCSTART",
    "SPECS",
    "SPLIT_FILE_NAMES",
    "SUFFIXES",
    "USER_FORMATS",
    "load_columns",
    "read_columns",
    "read_conll2003",
]

CONLL_FILES: dict[str, str] = {"train": "eng.train", "val": "eng.testa", "test": "eng.testb"}
CONLL_COLUMNS: tuple[str, ...] = ("token", "pos", "chunk", "ner")
DOCSTART = "-DOCSTART-"
# The names load("columns:DIR") looks for, per split, each with one of SUFFIXES.
SPLIT_FILE_NAMES: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "val": ("val", "dev", "valid", "testa"),
    "test": ("test", "testb"),
}
SUFFIXES: tuple[str, ...] = ("", ".txt", ".conll", ".tsv", ".iob", ".bio")

StrPath = str | os.PathLike[str]


class _ColumnFile(NamedTuple):
    """One file's sentences and where each starts, for messages about them later."""

    where: str  # how messages name the file
    sentences: list[TaggedSentence]
    starts: list[int]  # per sentence: the 1-based line of its first token
    features: tuple[int, ...]  # the feature columns, as indices 0 .. columns - 1


def _check_options(
    token_column: int, tag_column: int, features: Sequence[int], scheme: str
) -> tuple[int, ...]:
    for option, value in (("token_column", token_column), ("tag_column", tag_column)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"read_columns: {option} must be an int, got {value!r}")
    if isinstance(features, str) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in features
    ):
        raise ValueError(f"read_columns: features must be a tuple of ints, got {features!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"read_columns: scheme must be one of {SCHEMES}, got {scheme!r}")
    return tuple(features)


def _column(where: str, line: int, columns: int, option: str, index: int) -> int:
    """``index`` as 0 .. columns - 1; out of range is the file's error (it has too few)."""
    if not -columns <= index < columns:
        raise DatasetFormatError(
            f"{where}: line {line}: {option}={index} is out of range: the file has {columns} "
            f"columns (indices 0 to {columns - 1}, or -{columns} to -1)"
        )
    return index % columns


def _tag_error(where: str, line: int, tag: str, scheme: str, tag_column: int) -> str:
    prefixes = SCHEME_PREFIXES[scheme]
    allowed = ", ".join(f"{prefix}-<type>" for prefix in prefixes)
    message = (
        f"{where}: line {line}: tag {tag!r} is not in the {scheme} scheme, which allows O and "
        f"{allowed} (prefixes {', '.join(prefixes)})"
    )
    fits = [other for other in SCHEMES if in_scheme(tag, SCHEME_PREFIXES[other])]
    if fits:
        return f"{message}; the {fits[0]} scheme allows it (pass scheme={fits[0]!r})"
    return f"{message}; is column {tag_column} the tag column? (pass tag_column=)"


def _read_file(
    path: Path,
    *,
    token_column: int,
    tag_column: int,
    features: Sequence[int],
    scheme: str,
    where: str | None,
) -> _ColumnFile:
    wanted = _check_options(token_column, tag_column, features, scheme)
    label = str(path) if where is None else where
    lines = read_utf8(path, label).split("\n")
    prefixes = SCHEME_PREFIXES[scheme]
    sentences: list[TaggedSentence] = []
    starts: list[int] = []
    columns = first = token_i = tag_i = start = 0
    feature_i: tuple[int, ...] = ()
    tokens: list[str] = []
    tags: list[str] = []
    values: list[list[str]] = []
    checked: set[str] = set()  # tags already found in the scheme
    for number, line in enumerate([*lines, ""], start=1):  # the "" ends the last sentence
        fields = line.split()
        if not fields or fields[0] == DOCSTART:
            if tokens:
                kept = tuple(tuple(column) for column in values)
                sentences.append(TaggedSentence(tuple(tokens), tuple(tags), kept))
                starts.append(start)
                tokens, tags, values = [], [], [[] for _ in feature_i]
            continue
        if not columns:
            columns, first = len(fields), number
            token_i = _column(label, number, columns, "token_column", token_column)
            tag_i = _column(label, number, columns, "tag_column", tag_column)
            feature_i = tuple(
                _column(label, number, columns, f"features[{k}]", index)
                for k, index in enumerate(wanted)
            )
            values = [[] for _ in feature_i]
        elif len(fields) != columns:
            raise DatasetFormatError(
                f"{label}: line {number}: {len(fields)} columns, expected {columns} as on line "
                f"{first} (the file's first token line); columns are separated by whitespace, "
                "so a token cannot hold a space"
            )
        tag = fields[tag_i]
        if tag not in checked:
            if not in_scheme(tag, prefixes):
                raise DatasetFormatError(_tag_error(label, number, tag, scheme, tag_column))
            checked.add(tag)
        if not tokens:
            start = number
        tokens.append(fields[token_i])
        tags.append(tag)
        for column, index in zip(values, feature_i, strict=True):
            column.append(fields[index])
    if not sentences:
        last = max(1, len(lines) - (lines[-1] == ""))
        raise DatasetFormatError(
            f"{label}: line {last}: no sentences in the file; expected one token per line in "
            "whitespace-separated columns (token ... tag), a blank line between sentences"
        )
    return _ColumnFile(label, sentences, starts, feature_i)


def read_columns(
    path: StrPath,
    *,
    token_column: int = 0,
    tag_column: int = -1,
    features: tuple[int, ...] = (),
    scheme: str = "iob2",
    where: str | None = None,
) -> list[TaggedSentence]:
    """Read the tagged sentences of one column file (the format is in the module docstring).

    Args:
        path: the file.
        token_column: the index of the token column (negative counts from the end).
        tag_column: the index of the tag column; ``-1`` is the last.
        features: the indices of the columns to keep as features (part of speech, chunk, an SRL
            predicate indicator, ...), in the order :attr:`TaggedSentence.features` has them.
        scheme: ``"iob1"``, ``"iob2"`` or ``"bioes"``: the prefixes a tag may have.
        where: how messages name the file (default: ``path`` as given).

    Returns:
        The sentences, in file order.

    Raises:
        ValueError: an option of the wrong type, or an unknown scheme.
        DatasetNotFoundError: the file does not exist.
        DatasetFormatError: the file is not UTF-8 (the message gives the byte offset), has a line
            with a different number of columns than its first token line, fewer columns than an
            index asks for, a tag outside the scheme, or no sentence at all (the message names
            the file and the 1-based line).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
    >>> _ = path.write_text("EU NNP B-ORG\\nrejects VBZ O\\n\\nPeter NNP B-PER\\n")
    >>> for sentence in read_columns(path, features=(1,)):
    ...     print(sentence.tokens, sentence.tags, sentence.features)
    ('EU', 'rejects') ('B-ORG', 'O') (('NNP', 'VBZ'),)
    ('Peter',) ('B-PER',) (('NNP',),)
    """
    return _read_file(
        Path(path),
        token_column=token_column,
        tag_column=tag_column,
        features=features,
        scheme=scheme,
        where=where,
    ).sentences


class _Part(NamedTuple):
    """The sentences of one split and where they came from."""

    source: _ColumnFile
    indices: list[int]  # which of source.sentences
    held_out: bool  # drawn from the training file


def _unseen_tag(split: str, part: _Part, train: _Part, known: set[str]) -> str | None:
    """The message about the first tag of ``part`` (in file order) that ``known`` lacks."""
    for i in part.indices:
        sentence = part.source.sentences[i]
        for offset, tag in enumerate(sentence.tags):
            if tag in known:
                continue
            line = part.source.starts[i] + offset
            if part.held_out:
                return (
                    f"tag {tag} appears in {part.source.where} line {line}, in a sentence held "
                    f"out as {split}, but never in the sentences left for training; the model "
                    f"cannot predict it (pass another seed, or give {split} a file of its own)"
                )
            return (
                f"tag {tag} appears in {part.source.where} line {line} but never in the "
                f"training file {train.source.where}; the model cannot predict it"
            )
    return None


def _tagging_data(
    paths: Mapping[str, Path | None],
    *,
    token_column: int,
    tag_column: int,
    features: Sequence[int],
    scheme: str,
    column_names: Sequence[str],
    name: str,
    val_fraction: float = 0.0,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> TaggingData:
    """Read ``paths["train"]`` and each other split's file; a split whose path is ``None`` is
    held out of the training sentences by its fraction."""
    read = {
        split: _read_file(
            path,
            token_column=token_column,
            tag_column=tag_column,
            features=features,
            scheme=scheme,
            where=None,
        )
        for split, path in paths.items()
        if path is not None
    }
    train_file = read["train"]
    held = [split for split in ("val", "test") if paths.get(split) is None]
    fractions = {"val": val_fraction, "test": test_fraction}
    rest, *drawn = random_split(
        range(len(train_file.sentences)), [fractions[split] for split in held], seed=seed
    )
    parts = {"train": _Part(train_file, rest, held_out=False)}
    for split, ids in zip(held, drawn, strict=True):
        parts[split] = _Part(train_file, ids, held_out=True)
    for split, source in read.items():
        if split != "train":
            parts[split] = _Part(source, list(range(len(source.sentences))), held_out=False)
    sentences = {
        split: [part.source.sentences[i] for i in part.indices] for split, part in parts.items()
    }
    tags = tags_in_order(sentences["train"])
    known = set(tags)
    for split in ("val", "test"):
        problem = _unseen_tag(split, parts[split], parts["train"], known)
        if problem is not None:
            raise DatasetFormatError(problem)
    feature_names = tuple(
        column_names[i] if i < len(column_names) else f"col{i}" for i in train_file.features
    )
    return TaggingData(
        train=sentences["train"],
        val=sentences["val"],
        test=sentences["test"],
        tags=tags,
        feature_names=feature_names,
        scheme=scheme,
        files={split: parts[split].source.where for split in SPLITS},
        name=name,
    )


def read_conll2003(
    folder: Path, *, tag_column: int = 3, features: tuple[int, ...] = ()
) -> TaggingData:
    """Read CoNLL-2003 English from ``folder``: ``eng.train`` (train), ``eng.testa`` (val),
    ``eng.testb`` (test), in the columns ``token POS chunk NER``.

    Args:
        folder: the folder holding the three files.
        tag_column: the column of the tags: 3, the named entities (PER, LOC, ORG, MISC), or 2,
            the chunks (NP, VP, ...); both are IOB1.
        features: the columns to keep as features, e.g. ``(1, 2)`` for part of speech and chunk;
            :attr:`TaggingData.feature_names` calls columns 0-3 ``token``, ``pos``, ``chunk``,
            ``ner``.

    Returns:
        14,041 / 3,250 / 3,453 sentences of 203,621 / 51,362 / 46,435 tokens, ``-DOCSTART-``
        lines left out, with the original IOB1 tags (``scheme="iob1"``): the NER tags are
        ``O``, ``B-LOC``, ``B-MISC``, ``B-ORG``, ``I-LOC``, ``I-MISC``, ``I-ORG``, ``I-PER``
        (the training file has no ``B-PER``).

    Raises:
        DatasetNotFoundError: a file is missing.
        DatasetFormatError: a file's problem (see :func:`read_columns`), or a tag of
            ``eng.testa`` or ``eng.testb`` that ``eng.train`` lacks (named, with its line).
    """
    return _tagging_data(
        {split: Path(folder) / file for split, file in CONLL_FILES.items()},
        token_column=0,
        tag_column=tag_column,
        features=features,
        scheme="iob1",
        column_names=CONLL_COLUMNS,
        name="conll2003",
    )


def _looked_for(split: str) -> str:
    stems = " / ".join(SPLIT_FILE_NAMES[split])
    return f"{stems}, with no extension or one of {', '.join(SUFFIXES[1:])}"


def _find(folder: Path, split: str) -> Path | None:
    """The one file of ``split`` in ``folder``, or ``None``."""
    found = [
        folder / f"{stem}{suffix}"
        for stem in SPLIT_FILE_NAMES[split]
        for suffix in SUFFIXES
        if (folder / f"{stem}{suffix}").is_file()
    ]
    if len(found) > 1:
        raise DatasetFormatError(
            f"{folder}: {len(found)} {split} files ({', '.join(p.name for p in found)}); "
            f"expected one, so that it is clear which to read"
        )
    return found[0] if found else None


def load_columns(
    location: StrPath,
    *,
    token_column: int = 0,
    tag_column: int = -1,
    features: tuple[int, ...] = (),
    scheme: str = "iob2",
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> TaggingData:
    """What ``load("columns:PATH", "tag")`` reads: a folder of split files or one training file
    (see the module docstring).

    Args:
        location: the folder, or the training file.
        token_column, tag_column, features, scheme: as for :func:`read_columns`, for every file.
        val_fraction: the share of the training sentences held out as val when there is no val
            file, in [0, 1); 0 leaves val empty.
        test_fraction: likewise for test, when ``location`` is a file.
        seed: the seed of the hold-out.

    Returns:
        The three splits; ``tags`` are the training split's, ``name`` the folder's name (or the
        file's, without its extension), ``files`` where each split came from (a held-out split
        names the training file).

    Raises:
        DatasetNotFoundError: ``location`` does not exist, or a folder lacks a train or test
            file (the message says which names were looked for).
        DatasetFormatError: a file's problem (see :func:`read_columns`), two files for one split,
            or a tag of val or test that train lacks (named, with its file and line).
    """
    for option, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"columns: {option} must be in [0, 1), got {value}")
    path = Path(location).expanduser()
    paths: dict[str, Path | None]
    if path.is_dir():
        paths = {split: _find(path, split) for split in SPLIT_FILE_NAMES}
        for split in ("train", "test"):
            if paths[split] is None:
                raise DatasetNotFoundError(
                    f"{path}: no {split} file (looked for {_looked_for(split)}); "
                    "columns:DIR needs train and test files there, and takes a val file if "
                    "there is one (or pass the training file itself, columns:FILE, to hold val "
                    "and test out of it)"
                )
        name = path.name
    elif path.exists():
        if val_fraction + test_fraction >= 1.0:
            raise ValueError(
                f"columns: val_fraction + test_fraction must be below 1, got "
                f"{val_fraction} + {test_fraction}"
            )
        paths = {"train": path, "val": None, "test": None}
        name = path.stem
    else:
        raise DatasetNotFoundError(
            f"{path}: no such file or folder; columns:PATH takes a folder holding train and test "
            "(and val) files, or one training file"
        )
    return _tagging_data(
        paths,
        token_column=token_column,
        tag_column=tag_column,
        features=features,
        scheme=scheme,
        column_names=(),
        name=name or "columns",
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )


_HOMEPAGE = "https://www.clips.uantwerpen.be/conll2003/ner/"

SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="conll2003",
        task="tag",
        description="CoNLL-2003 English NER (Reuters; PER, LOC, ORG, MISC; IOB1 tags): "
        "14,041 / 3,250 / 3,453 sentences",
        folder="conll2003",
        # No public download: the official ner.tgz rebuilds the files from the Reuters Corpus.
        files=tuple(RemoteFile(file, None, None) for file in CONLL_FILES.values()),
        reader=read_conll2003,
        citation="Erik F. Tjong Kim Sang and Fien De Meulder. Introduction to the CoNLL-2003 "
        "Shared Task: Language-Independent Named Entity Recognition. Proceedings of CoNLL-2003, "
        "pp. 142-147.",
        license="The annotations are freely available. The tokens are Reuters Corpus (RCV1) "
        "text, which NIST distributes under a research-use agreement; officially, the complete "
        "files with text may not be redistributed (the official ner.tgz holds the annotations "
        f"and a script that rebuilds the files from the Reuters Corpus; see {_HOMEPAGE}).",
        homepage=_HOMEPAGE,
    ),
)

USER_FORMATS: tuple[UserFormat, ...] = (
    UserFormat(scheme="columns", task="tag", loader=load_columns),
)
