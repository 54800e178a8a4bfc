"""The user's own labelled texts: CSV, TSV, JSON Lines, or a folder per class.

Every file is read as strict UTF-8 (a leading byte-order mark is allowed). Anything a reader
cannot use stops it with one :class:`DatasetFormatError` line naming the file, the line and what
was expected; no row is skipped silently (blank lines carry no row and are passed over).

- **CSV** (``.csv``): a header line naming the columns, then one row per example; quoting as
  Excel writes it (``"a text, with a comma"``).
- **TSV** (``.tsv``, ``.tab``): a header line, then one row per line, fields separated by tabs,
  no quoting (so a text may hold ``"`` but not a tab or a newline).
- **JSON Lines** (``.jsonl``, ``.ndjson``): one JSON object per line; the label may be a string or
  an integer (``1`` becomes ``"1"``).
- **A folder per class**: ``ROOT/<label>/*.txt``, one example per file (other files and hidden
  folders are not read).

Texts are kept as written; labels are stripped of surrounding spaces.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rnnkit.datasets.base import (
    ClassificationData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    decode_utf8,
    labels_in_order,
    read_utf8,
)
from rnnkit.datasets.spec import UserFormat
from rnnkit.datasets.splits import stratified_split

__all__ = ["FORMATS", "USER_FORMATS", "load_files", "load_user", "read_folder", "read_table"]

FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl")
_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_JSON_KINDS: dict[type, str] = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_VAL_NAMES: tuple[str, ...] = ("val", "valid", "dev")

StrPath = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class _Row:
    """An example and where it came from, for messages about it later."""

    example: Example
    where: str  # "FILE: line N" or the .txt file's path


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"read_table: format must be one of {FORMATS}, got {format!r}")
        return format
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise DatasetFormatError(
            f"{path}: cannot tell the format from the suffix {path.suffix!r}; expected one of "
            f"{', '.join(sorted(_SUFFIXES))}, or pass format= ({', '.join(FORMATS)})"
        )
    return found


def read_table(
    path: StrPath,
    *,
    text_field: str = "text",
    label_field: str = "label",
    format: str | None = None,
) -> list[Example]:
    """Read labelled texts from a CSV, TSV or JSON Lines file.

    Args:
        path: the file.
        text_field: the column (CSV/TSV) or key (JSONL) holding the text.
        label_field: the column or key holding the label.
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``; ``None`` picks it from the file's suffix.

    Returns:
        The examples, in file order.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DatasetFormatError: the file is empty, not UTF-8, lacks a column, or holds a row without
            a label or a text, or a malformed line (the message names the file and line).
    """
    return [row.example for row in _read_table(Path(path), text_field, label_field, format)]


def _read_table(path: Path, text_field: str, label_field: str, format: str | None) -> list[_Row]:
    kind = _format_of(path, format)
    text = read_utf8(path)
    if not text.strip():
        expected = (
            "one JSON object per line"
            if kind == "jsonl"
            else f"a header line naming the columns {text_field!r} and {label_field!r}, then "
            "one row per example"
        )
        raise DatasetFormatError(f"{path}: line 1: the file is empty; expected {expected}")
    if kind == "jsonl":
        rows = _read_jsonl(path, text, text_field, label_field)
    else:
        rows = _read_delimited(path, text, text_field, label_field, tsv=kind == "tsv")
    return rows


def _read_delimited(
    path: Path, text: str, text_field: str, label_field: str, *, tsv: bool
) -> list[_Row]:
    if tsv:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    header: list[str] | None = None
    text_index = label_index = 0
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise DatasetFormatError(
                f"{path}: line {start}: {error}; expected a {'TSV' if tsv else 'CSV'} row"
            ) from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line
        if header is None:
            header = [name.strip() for name in fields]
            text_index = _column(path, start, header, text_field, "text")
            label_index = _column(path, start, header, label_field, "label")
            continue
        where = f"{path}: line {start}"
        label = fields[label_index].strip() if label_index < len(fields) else ""
        if not label:
            raise DatasetFormatError(
                f"{where}: no label; expected a label in column {label_field!r}"
            )
        if text_index >= len(fields) or not fields[text_index].strip():
            raise DatasetFormatError(
                f"{where}: empty text; expected a text in column {text_field!r}"
            )
        if len(fields) != len(header):
            raise DatasetFormatError(
                f"{where}: {len(fields)} fields, expected {len(header)} as in the header "
                f"({', '.join(map(repr, header))})"
                + ("" if tsv else "; quote a text that holds a comma")
            )
        rows.append(_Row(Example(fields[text_index], label), where))
    if not rows:
        raise DatasetFormatError(
            f"{path}: line {reader.line_num + 1}: no rows after the header; expected one row per "
            "example"
        )
    return rows


def _column(path: Path, line: int, header: list[str], field: str, role: str) -> int:
    """The index of column ``field``, which must occur once in ``header``."""
    found = [i for i, name in enumerate(header) if name == field]
    if len(found) != 1:
        problem = "no column" if not found else f"{len(found)} columns named"
        raise DatasetFormatError(
            f"{path}: line {line}: {problem} {field!r}; columns found: "
            f"{', '.join(map(repr, header))} (pass {role}_field= to name the {role} column)"
        )
    return found[0]


def _read_jsonl(path: Path, text: str, text_field: str, label_field: str) -> list[_Row]:
    rows: list[_Row] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetFormatError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno}); expected one "
                "JSON object per line"
            ) from None
        if not isinstance(record, dict):
            kind = _JSON_KINDS.get(type(record), type(record).__name__)
            raise DatasetFormatError(
                f"{where}: a JSON {kind}; expected a JSON object with keys "
                f"{text_field!r} and {label_field!r}"
            )
        for field, role in ((text_field, "text"), (label_field, "label")):
            if field not in record:
                raise DatasetFormatError(
                    f"{where}: no key {field!r}; keys found: "
                    f"{', '.join(map(repr, record)) or 'none'} (pass {role}_field= to name it)"
                )
        label = record[label_field]
        if isinstance(label, int) and not isinstance(label, bool):
            label = str(label)
        if not isinstance(label, str) or not label.strip():
            raise DatasetFormatError(
                f"{where}: no label (key {label_field!r} holds {json.dumps(label)}); expected a "
                "non-empty string or an integer"
            )
        body = record[text_field]
        if not isinstance(body, str) or not body.strip():
            raise DatasetFormatError(
                f"{where}: empty text (key {text_field!r} holds {json.dumps(body)[:40]}); "
                "expected a non-empty string"
            )
        rows.append(_Row(Example(body, label.strip()), where))
    return rows


def read_folder(path: StrPath) -> list[Example]:
    """Read a folder per class: ``path/<label>/*.txt``, one example per file.

    Returns:
        The examples, by label (sorted) and then by file name.

    Raises:
        DatasetNotFoundError: ``path`` does not exist.
        DatasetFormatError: ``path`` is not a folder, has no class folders, a class folder has
            no ``.txt`` file, or a file is empty or not UTF-8 (the message names it).
    """
    return [row.example for row in _read_folder(Path(path))]


def _read_folder(root: Path) -> list[_Row]:
    if not root.exists():
        raise DatasetNotFoundError(f"{root}: no such folder")
    if not root.is_dir():
        raise DatasetFormatError(
            f"{root}: is a file; expected a folder with one subfolder of .txt files per label"
        )
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetFormatError(
            f"{root}: no class folders; expected {root}{os.sep}<label>{os.sep}<name>.txt"
        )
    rows: list[_Row] = []
    for folder in classes:
        files = sorted(p for p in folder.glob("*.txt") if p.is_file())
        if not files:
            raise DatasetFormatError(
                f"{folder}: no .txt files; expected one .txt file per example of label "
                f"{folder.name!r}"
            )
        for file in files:
            text = decode_utf8(file, file.read_bytes())
            if not text.strip():
                raise DatasetFormatError(f"{file}: line 1: empty text; expected the example's text")
            rows.append(_Row(Example(text, folder.name), str(file)))
    return rows


def _read_any(where: StrPath, text_field: str, label_field: str, format: str | None) -> list[_Row]:
    path = Path(where)
    if path.is_dir():
        return _read_folder(path)
    return _read_table(path, text_field, label_field, format)


def load_files(
    *,
    train: StrPath,
    test: StrPath,
    val: StrPath | None = None,
    text_field: str = "text",
    label_field: str = "label",
    format: str | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    name: str = "user",
) -> ClassificationData:
    """Load the user's own train / val / test files as one dataset.

    Args:
        train: the training file (CSV, TSV, JSONL) or folder per class.
        test: the test file or folder.
        val: the validation file or folder; if ``None``, ``val_fraction`` of ``train`` is held out,
            stratified by label and seeded with ``seed``.
        text_field: the column or key of the text (tables only).
        label_field: the column or key of the label (tables only).
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"`` for every table; ``None`` reads suffixes.
        val_fraction: the share of ``train`` held out when ``val`` is ``None``, in [0, 1);
            0 holds nothing out (no validation split).
        seed: the seed of that hold-out.
        name: the dataset's name in reports.

    Returns:
        The three splits; ``labels`` are the training labels, sorted.

    Raises:
        DatasetFormatError: any file's problem (see :func:`read_table`), or a label in ``val``
            or ``test`` that ``train`` never has (the message names the label, file and line).
    """
    train_rows = _read_any(train, text_field, label_field, format)
    labels = labels_in_order([row.example for row in train_rows])
    splits: dict[str, list[Example]] = {}
    for split, path in (("val", val), ("test", test)):
        if path is None:
            continue
        rows = _read_any(path, text_field, label_field, format)
        for row in rows:
            if row.example.label not in labels:
                raise DatasetFormatError(
                    f"{row.where}: label {row.example.label!r} is not among the labels of the "
                    f"training data {Path(train)} ({', '.join(map(repr, labels))}); expected one "
                    "of those"
                )
        splits[split] = [row.example for row in rows]
    train_examples = [row.example for row in train_rows]
    if val is None and val_fraction == 0:
        splits["val"] = []  # no validation split: the caller trains on every training row
    elif val is None:
        train_examples, splits["val"] = stratified_split(train_examples, val_fraction, seed=seed)
    return ClassificationData(
        train=train_examples, val=splits["val"], test=splits["test"], labels=labels, name=name
    )


def load_user(
    scheme: str,
    location: str,
    *,
    text_field: str = "text",
    label_field: str = "label",
    val_fraction: float = 0.1,
    seed: int = 0,
) -> ClassificationData:
    """What ``load("csv:PATH")`` (and ``tsv:``, ``jsonl:``, ``folder:``) reads.

    - ``csv:DIR`` or ``csv:DIR/train.csv`` (any file name): the training file and, next to it,
      ``test.csv`` and, if present, ``val.csv`` (or ``valid.csv``, ``dev.csv``); likewise for
      ``tsv`` and ``jsonl`` with their suffix.
    - ``folder:DIR``: ``DIR/train/<label>/*.txt``, ``DIR/test/<label>/*.txt`` and, if present,
      ``DIR/val/`` (or ``valid/``, ``dev/``).

    Without a validation file, ``val_fraction`` of train is held out (see :func:`load_files`).

    Raises:
        DatasetNotFoundError: the train or test file is missing (the message names the paths).
    """
    path = Path(location).expanduser()
    if scheme == "folder":
        folder, suffix, train = path, "", path / "train"
    elif scheme in FORMATS:
        suffix = "." + scheme
        folder, train = (path, path / f"train{suffix}") if path.is_dir() else (path.parent, path)
    else:
        raise ValueError(
            f"load: unknown scheme {scheme!r}; expected one of folder, csv, tsv, jsonl"
        )
    test = folder / f"test{suffix}"
    for role, needed in (("train", train), ("test", test)):
        if not needed.exists():
            raise DatasetNotFoundError(
                f"{needed}: no such {'folder' if scheme == 'folder' else 'file'}; "
                f"load('{scheme}:{location}') needs the {role} data there (or call "
                "rnnkit.datasets.load_files(train=..., test=...))"
            )
    val = next((p for p in (folder / f"{n}{suffix}" for n in _VAL_NAMES) if p.exists()), None)
    return load_files(
        train=train,
        test=test,
        val=val,
        text_field=text_field,
        label_field=label_field,
        format=None if scheme == "folder" else scheme,
        val_fraction=val_fraction,
        seed=seed,
        name=folder.name or "user",
    )


USER_FORMATS: tuple[UserFormat, ...] = tuple(
    UserFormat(scheme=kind, task="classify", loader=partial(load_user, kind))
    for kind in (*FORMATS, "folder")
)
