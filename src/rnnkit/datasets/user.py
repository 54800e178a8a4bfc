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
- **Without a header** (``header=False``, ``--no-header``): CSV/TSV files whose first line is a
  row (``pos<TAB>a fine film``), JSON Lines files of arrays (``["pos", "a fine film"]``); the
  columns are then named by 0-based number (``label_field="0"``, ``text_field="1"``).
- **A folder per class**: ``ROOT/<label>/*.txt``, one example per file (other files and hidden
  folders are not read).

The text and label columns are ``text_field`` and ``label_field``: names from the header, or
0-based column numbers; several text columns (``"title,body"``) are joined, in that order, with a
newline. Texts are kept as written; labels are stripped of surrounding spaces.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
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
from rnnkit.datasets.splits import check_fractions, stratified_parts

__all__ = [
    "FORMATS",
    "USER_FORMATS",
    "load_files",
    "load_user",
    "read_folder",
    "read_labelled",
    "read_table",
    "scheme_format",
]

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
    header: bool = True,
    format: str | None = None,
) -> list[Example]:
    """Read labelled texts from a CSV, TSV or JSON Lines file.

    Args:
        path: the file.
        text_field: the column (CSV/TSV) or key (JSONL) holding the text: a name, or a 0-based
            column number; several, separated by commas (``"title,body"``), are joined with a
            newline into one text.
        label_field: the column or key holding the label (one, a name or a 0-based number).
        header: whether the first line names the columns. ``False``: every line is a row and
            the fields are 0-based column numbers (JSON Lines: every line is a JSON array).
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"``; ``None`` picks it from the file's suffix.

    Returns:
        The examples, in file order.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DatasetFormatError: the file is empty, not UTF-8, lacks a column (the message lists the
            columns found), or holds a row without a label or a text, or a malformed line (the
            message names the file and line).
    """
    columns = _Columns.of(text_field, label_field, header)
    return [row.example for row in _read_table(Path(path), columns, format)]


@dataclass(frozen=True, slots=True)
class _Columns:
    """Which fields of a row hold the text and the label, and whether a header names them."""

    text: tuple[str, ...]  # one or more, joined with a newline
    label: str
    header: bool

    @classmethod
    def of(cls, text_field: str, label_field: str, header: bool) -> _Columns:
        text = tuple(part.strip() for part in text_field.split(",") if part.strip())
        if not text:
            raise ValueError(
                f"text_field must name a column (or several, separated by commas), got "
                f"{text_field!r}"
            )
        label = label_field.strip()
        if not label or "," in label:
            raise ValueError(f"label_field must name one column, got {label_field!r}")
        return cls(text, label, header)

    def describe(self, role: str) -> str:
        """``column 'text'`` or ``columns 'title', 'body'``, for messages."""
        fields = self.text if role == "text" else (self.label,)
        return ("columns " if len(fields) > 1 else "column ") + ", ".join(map(repr, fields))


_FIELD_HINT = "--text-field, --label-field (text_field=, label_field=): a name or 0-based number"


def _read_table(path: Path, columns: _Columns, format: str | None) -> list[_Row]:
    kind = _format_of(path, format)
    text = read_utf8(path)
    if not text.strip():
        if kind == "jsonl":
            expected = "one JSON " + ("object" if columns.header else "array") + " per line"
        elif columns.header:
            expected = (
                f"a header line naming the {columns.describe('text')} and "
                f"{columns.describe('label')}, then one row per example"
            )
        else:
            expected = "one row per example"
        raise DatasetFormatError(f"{path}: line 1: the file is empty; expected {expected}")
    if kind == "jsonl":
        return _read_jsonl(path, text, columns)
    return _read_delimited(path, text, columns, tsv=kind == "tsv")


def _read_delimited(path: Path, text: str, columns: _Columns, *, tsv: bool) -> list[_Row]:
    if tsv:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    first: list[str] | None = None  # the header, or the first row of a file without one
    first_line = 0
    text_at: list[int] = []
    label_at = 0
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
        if first is None:
            first, first_line = fields, start
            text_at = [_column(path, start, fields, f, "text", columns) for f in columns.text]
            label_at = _column(path, start, fields, columns.label, "label", columns)
            if columns.header:
                continue
        where = f"{path}: line {start}"
        label = fields[label_at].strip() if label_at < len(fields) else ""
        if not label:
            raise DatasetFormatError(
                f"{where}: no label; expected a label in {columns.describe('label')}"
            )
        body = "\n".join(fields[i] for i in text_at if i < len(fields) and fields[i].strip())
        if not body:
            raise DatasetFormatError(
                f"{where}: empty text; expected a text in {columns.describe('text')}"
            )
        if len(fields) != len(first):
            against = (
                f"as in the header ({', '.join(repr(name.strip()) for name in first)})"
                if columns.header
                else f"as in line {first_line}, the first row"
            )
            raise DatasetFormatError(
                f"{where}: {len(fields)} fields, expected {len(first)} {against}"
                + ("" if tsv else "; quote a text that holds a comma")
            )
        rows.append(_Row(Example(body, label), where))
    if not rows:
        raise DatasetFormatError(
            f"{path}: line {reader.line_num + 1}: no rows after the header; expected one row per "
            "example"
        )
    return rows


def _column(
    path: Path, line: int, first: list[str], field: str, role: str, columns: _Columns
) -> int:
    """The index of column ``field`` in a file whose first row is ``first``: with a header, the
    column of that name (once), else a 0-based number; without a header, a 0-based number."""
    width = len(first)
    number = int(field) if field.isdecimal() else None
    if columns.header:
        names = [name.strip() for name in first]
        found = [i for i, name in enumerate(names) if name == field]
        if len(found) == 1:
            return found[0]
        if not found and number is not None and number < width:
            return number
        problem = f"no column {field!r}" if not found else f"{len(found)} columns named {field!r}"
        raise DatasetFormatError(
            f"{path}: line {line}: {problem}; columns found: {', '.join(map(_shown, names))} "
            f"({_FIELD_HINT}; a file without a header line: --no-header, header=False)"
        )
    if number is not None and number < width:
        return number
    shown = ", ".join(f"{i} {_shown(value.strip())}" for i, value in enumerate(first))
    problem = (
        f"no column {number}"
        if number is not None
        else f"the {role} field {field!r} is a name, but a file without a header (--no-header / "
        "header=False) numbers its columns from 0"
    )
    raise DatasetFormatError(
        f"{path}: line {line}: {problem}; this first row has {width} column"
        f"{'s' if width != 1 else ''}: {shown} (e.g. --label-field 0 --text-field 1)"
    )


def _shown(value: str, width: int = 30) -> str:
    """``value`` quoted for a message, cut to about ``width`` characters."""
    return repr(value if len(value) <= width else value[: width - 1] + "…")


def _read_jsonl(path: Path, text: str, columns: _Columns) -> list[_Row]:
    rows: list[_Row] = []
    wanted = "a JSON object with keys " if columns.header else "a JSON array with columns "
    wanted += ", ".join(map(repr, (*columns.text, columns.label)))
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetFormatError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno}); expected one "
                f"JSON {'object' if columns.header else 'array'} per line"
            ) from None
        if not isinstance(record, dict if columns.header else list):
            kind = _JSON_KINDS.get(type(record), type(record).__name__)
            kind = "object" if isinstance(record, dict) else kind
            other = "--no-header reads" if columns.header else "without --no-header, read"
            raise DatasetFormatError(
                f"{where}: a JSON {kind}; expected {wanted} ({other} one JSON "
                f"{'array' if columns.header else 'object'} per line)"
            )
        values = [_json_value(where, record, field) for field in (*columns.text, columns.label)]
        label = values.pop()
        if isinstance(label, int) and not isinstance(label, bool):
            label = str(label)
        if not isinstance(label, str) or not label.strip():
            raise DatasetFormatError(
                f"{where}: no label ({columns.describe('label')} holds {json.dumps(label)}); "
                "expected a non-empty string or an integer"
            )
        for field, value in zip(columns.text, values, strict=True):
            if value is not None and not isinstance(value, str):
                raise DatasetFormatError(
                    f"{where}: {field!r} holds {json.dumps(value)[:40]}; expected a text (a "
                    "JSON string)"
                )
        body = "\n".join(v for v in values if isinstance(v, str) and v.strip())
        if not body:
            shown = ", ".join(json.dumps(v)[:40] for v in values)
            raise DatasetFormatError(
                f"{where}: empty text ({columns.describe('text')} holds {shown}); expected a "
                "non-empty string"
            )
        rows.append(_Row(Example(body, label.strip()), where))
    return rows


def _json_value(where: str, record: dict[str, Any] | list[Any], field: str) -> Any:
    """``record[field]``: a key of an object, or a 0-based position in an array."""
    if isinstance(record, dict):
        if field not in record:
            raise DatasetFormatError(
                f"{where}: no key {field!r}; keys found: "
                f"{', '.join(map(repr, record)) or 'none'} (--text-field / --label-field, "
                "text_field= / label_field=, name the keys)"
            )
        return record[field]
    if not field.isdecimal():
        raise DatasetFormatError(
            f"{where}: the field {field!r} is a name, but --no-header (header=False) reads each "
            "line as a JSON array, its columns numbered from 0 (e.g. --label-field 0 "
            "--text-field 1)"
        )
    if int(field) >= len(record):
        raise DatasetFormatError(
            f"{where}: no column {field}; the array has {len(record)}: {json.dumps(record)[:60]}"
        )
    return record[int(field)]


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


def _read_any(where: StrPath, columns: _Columns, format: str | None) -> list[_Row]:
    path = Path(where)
    if path.is_dir():
        return _read_folder(path)
    return _read_table(path, columns, format)


def _check_labels(rows: Sequence[_Row], labels: Sequence[str], owner: str) -> None:
    """Every row's label is one of ``labels`` (those of ``owner``), else one line naming it."""
    known = set(labels)
    for row in rows:
        if row.example.label not in known:
            raise DatasetFormatError(
                f"{row.where}: label {row.example.label!r} is not among the labels of {owner} "
                f"({', '.join(map(repr, labels))}); expected one of those"
            )


def load_files(
    *,
    train: StrPath,
    test: StrPath | None = None,
    val: StrPath | None = None,
    text_field: str = "text",
    label_field: str = "label",
    header: bool = True,
    format: str | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.0,
    seed: int = 0,
    name: str = "user",
) -> ClassificationData:
    """Load the user's own train / val / test files as one dataset.

    Args:
        train: the training file (CSV, TSV, JSONL) or folder per class.
        test: the test file or folder; if ``None``, ``test_fraction`` of ``train`` is held out
            (which must then be above 0).
        val: the validation file or folder; if ``None``, ``val_fraction`` of ``train`` is held out.
        text_field: the column(s) or key(s) of the text (tables only; see :func:`read_table`).
        label_field: the column or key of the label (tables only).
        header: whether a table's first line names its columns (see :func:`read_table`).
        format: ``"csv"``, ``"tsv"`` or ``"jsonl"`` for every table; ``None`` reads suffixes.
        val_fraction: the share of ``train`` held out for validation when ``val`` is ``None``, in
            [0, 1); 0 holds nothing out (no validation split).
        test_fraction: the share of ``train`` held out for test when ``test`` is ``None``, in
            [0, 1), with ``val_fraction`` below 1 together. The held-out parts are stratified by
            label and seeded with ``seed`` (:func:`~rnnkit.datasets.splits.stratified_parts`,
            test first); both are shares of the whole training file.
        seed: the seed of those hold-outs.
        name: the dataset's name in reports.

    Returns:
        The three splits; ``labels`` are the training labels, sorted.

    Raises:
        ValueError: a fraction out of range, or no ``test`` and ``test_fraction`` 0.
        DatasetFormatError: any file's problem (see :func:`read_table`), or a label in ``val``
            or ``test`` that ``train`` never has (the message names the label, file and line).
    """
    check_fractions("load_files", {"val_fraction": val_fraction, "test_fraction": test_fraction})
    if test is None and test_fraction == 0:
        raise ValueError(
            "load_files: no test file and test_fraction 0; give test= or hold out a share of "
            "train with test_fraction="
        )
    columns = _Columns.of(text_field, label_field, header)
    train_rows = _read_any(train, columns, format)
    labels = labels_in_order([row.example for row in train_rows])
    splits: dict[str, list[Example]] = {}
    for split, path in (("val", val), ("test", test)):
        if path is not None:
            rows = _read_any(path, columns, format)
            _check_labels(rows, labels, f"the training data {Path(train)}")
            splits[split] = [row.example for row in rows]
    held_out = [
        (s, f) for s, f in (("test", test_fraction), ("val", val_fraction)) if s not in splits
    ]
    train_examples = [row.example for row in train_rows]
    if any(fraction > 0 for _, fraction in held_out):
        train_examples, *parts = stratified_parts(
            train_examples, [fraction for _, fraction in held_out], seed=seed
        )
        splits.update((split, part) for (split, _), part in zip(held_out, parts, strict=True))
    else:  # nothing held out: no validation split, the caller trains on every training row
        splits.update((split, []) for split, _ in held_out)
    return ClassificationData(
        train=train_examples, val=splits["val"], test=splits["test"], labels=labels, name=name
    )


def load_user(
    scheme: str,
    location: str,
    *,
    text_field: str = "text",
    label_field: str = "label",
    header: bool = True,
    val_fraction: float = 0.1,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> ClassificationData:
    """What ``load("csv:PATH")`` (and ``tsv:``, ``jsonl:``, ``folder:``) reads.

    - ``csv:DIR`` or ``csv:DIR/train.csv`` (any file name): the training file and, next to it,
      ``test.csv`` and, if present, ``val.csv`` (or ``valid.csv``, ``dev.csv``); likewise for
      ``tsv`` and ``jsonl`` with their suffix.
    - ``folder:DIR``: ``DIR/train/<label>/*.txt``, ``DIR/test/<label>/*.txt`` and, if present,
      ``DIR/val/`` (or ``valid/``, ``dev/``); or, where ``DIR`` has no ``train`` folder,
      ``DIR/<label>/*.txt`` as one training set.

    The test split comes from one place: the test file beside the training file, or, where
    there is none, ``test_fraction`` of the training file (a single file is thus split into
    train / val / test). Without a validation file, ``val_fraction`` of the training file is
    held out (see :func:`load_files`). ``text_field``, ``label_field`` and ``header`` are as
    for :func:`read_table`.

    Raises:
        DatasetNotFoundError: the train file is missing, or the test file is and
            ``test_fraction`` is 0 (the message names the paths).
        ValueError: a test file lies beside the training file and ``test_fraction`` is above 0;
            or table options for a folder.
    """
    path = Path(location).expanduser()
    if scheme == "folder":
        if (text_field, label_field, header) != ("text", "label", True):
            raise ValueError(
                f"load('folder:{location}'): text_field, label_field and header are for "
                "csv/tsv/jsonl files, not for a folder per class"
            )
        suffix = ""
        one_set = path.is_dir() and not (path / "train").exists() and not (path / "test").exists()
        folder, train = (path, path) if one_set else (path, path / "train")
    elif scheme in FORMATS:
        suffix = "." + scheme
        folder, train = (path, path / f"train{suffix}") if path.is_dir() else (path.parent, path)
    else:
        raise ValueError(
            f"load: unknown scheme {scheme!r}; expected one of folder, csv, tsv, jsonl"
        )
    kind = "folder" if scheme == "folder" else "file"
    if not train.exists():
        what = "file or folder" if train == path else kind  # csv:PATH may name either
        raise DatasetNotFoundError(
            f"{train}: no such {what}; load('{scheme}:{location}') needs the training data there "
            "(or call rnnkit.datasets.load_files(train=..., test=...))"
        )
    found = folder / f"test{suffix}"
    test = found if found.exists() and found != train else None
    if test is not None and test_fraction > 0:
        raise ValueError(
            f"{test}: a test {kind} lies beside the training data, and test_fraction is "
            f"{test_fraction}: the test split comes from one place (test_fraction 0 tests on "
            f"this {kind}; to hold out a share of {train.name} instead, move it away)"
        )
    if test is None and test_fraction == 0:
        raise DatasetNotFoundError(
            f"{found}: no such {kind}; load('{scheme}:{location}') needs the test data there, or "
            f"a share of {train.name} held out for test (test_fraction=0.1, "
            "--test-fraction 0.1)"
        )
    candidates = (folder / f"{n}{suffix}" for n in _VAL_NAMES)
    val = None if train == folder else next((p for p in candidates if p.exists()), None)
    return load_files(
        train=train,
        test=test,
        val=val,
        text_field=text_field,
        label_field=label_field,
        header=header,
        format=None if scheme == "folder" else scheme,
        val_fraction=val_fraction,
        test_fraction=test_fraction if test is None else 0.0,
        seed=seed,
        name=folder.name or "user",
    )


def read_labelled(
    location: StrPath,
    *,
    labels: Sequence[str],
    owner: str = "the model",
    text_field: str = "text",
    label_field: str = "label",
    header: bool = True,
    format: str | None = None,
) -> list[Example]:
    """The labelled texts of one file or folder per class, every label one of ``labels``: what
    ``rnnkit evaluate RUN --data PATH`` scores.

    Args:
        location: a CSV/TSV/JSONL file (its format from the suffix, else ``format``), a folder
            per class, or either with a scheme (``tsv:PATH``, ``folder:PATH``).
        labels: the labels a label must be one of.
        owner: whose labels those are, for the message (``"the run runs/x"``).
        text_field, label_field, header: as for :func:`read_table`.
        format: the table format where ``location`` has neither a scheme nor a known suffix.

    Raises:
        DatasetNotFoundError: nothing at ``location``.
        DatasetFormatError: the file's problem (see :func:`read_table`), or an unknown label
            (the message names the file, line and the known labels).
    """
    text = str(location)
    scheme, colon, rest = text.partition(":")
    if colon and scheme in (*FORMATS, "folder"):
        path, format = Path(rest).expanduser(), None if scheme == "folder" else scheme
        if scheme == "folder" and not path.is_dir():
            raise DatasetNotFoundError(f"{path}: no such folder")
    else:
        path = Path(text).expanduser()
        if path.suffix.lower() in _SUFFIXES:
            format = None
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no such file or folder")
    columns = _Columns.of(text_field, label_field, header)
    rows = _read_any(path, columns, format)
    _check_labels(rows, labels, owner)
    return [row.example for row in rows]


def scheme_format(dataset: str) -> str | None:
    """The table format a dataset name such as ``tsv:data/x`` reads (None for others)."""
    scheme, colon, _ = dataset.partition(":")
    return scheme if colon and scheme in FORMATS else None


USER_FORMATS: tuple[UserFormat, ...] = tuple(
    UserFormat(scheme=kind, task="classify", loader=partial(load_user, kind))
    for kind in (*FORMATS, "folder")
)
