"""The user's own files: CSV, TSV, JSONL and a folder per class; load_files and load("csv:...");
every bad input stops with one line naming the file, the line and what was expected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rnnkit.datasets import (
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    load,
    load_files,
    read_folder,
    read_table,
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def write_folder(root: Path, texts: dict[str, list[str]]) -> Path:
    for label, items in texts.items():
        for i, text in enumerate(items):
            write(root / label / f"{i:03d}.txt", text)
    return root


# --- happy paths ----------------------------------------------------------------------------


def test_csv_with_quoting_and_extra_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path / "train.csv",
        'id,text,label\r\n1,"Great, really great",pos\r\n2,"Two\nlines ""quoted""", neg \r\n\r\n'
        "3,Plain text,pos\r\n",
    )
    assert read_table(path) == [
        Example("Great, really great", "pos"),
        Example('Two\nlines "quoted"', "neg"),  # the label is stripped, the text is not
        Example("Plain text", "pos"),
    ]


def test_tsv_keeps_quote_characters(tmp_path: Path) -> None:
    path = write(tmp_path / "train.tsv", 'sentence\tsentiment\n"Odd" start\t1\nfine film\t0\n')
    assert read_table(path, text_field="sentence", label_field="sentiment") == [
        Example('"Odd" start', "1"),
        Example("fine film", "0"),
    ]


def test_jsonl_with_integer_labels_and_a_bom(tmp_path: Path) -> None:
    path = write(
        tmp_path / "data.jsonl",
        '\ufeff{"text": "caf\\u00e9 is nice", "label": 1}\n\n{"text": "meh", "label": "0"}\n',
    )
    assert read_table(path) == [Example("café is nice", "1"), Example("meh", "0")]


def test_format_argument_overrides_the_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "data.txt", '{"text": "a", "label": "x"}\n')
    assert read_table(path, format="jsonl") == [Example("a", "x")]


def test_folder_per_class(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "docs", {"spam": ["buy now", "cheap"], "ham": ["hi mum"]})
    write(root / "spam" / "notes.md", "not read")
    (root / ".git").mkdir()
    assert read_folder(root) == [
        Example("hi mum", "ham"),
        Example("buy now", "spam"),
        Example("cheap", "spam"),
    ]


def test_load_files_with_val_given(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", "text,label\na,x\nb,y\nc,x\n")
    val = write(tmp_path / "val.jsonl", '{"text": "d", "label": "y"}\n')
    test = write_folder(tmp_path / "test", {"x": ["e"], "y": ["f"]})
    data = load_files(train=train, val=val, test=test, name="mine")
    assert data.name == "mine" and data.labels == ["x", "y"]
    assert [e.text for e in data.train] == ["a", "b", "c"]
    assert data.val == [Example("d", "y")]
    assert data.test == [Example("e", "x"), Example("f", "y")]


def test_load_files_without_val_holds_out_a_stratified_share(tmp_path: Path) -> None:
    rows = "".join(f"text {i},{'x' if i % 2 else 'y'}\n" for i in range(40))
    train = write(tmp_path / "train.csv", "text,label\n" + rows)
    test = write(tmp_path / "test.csv", "text,label\nq,x\n")
    data = load_files(train=train, test=test, val_fraction=0.25, seed=1)
    assert (len(data.train), len(data.val)) == (30, 10)
    assert data.counts()["val"] == {"x": 5, "y": 5}
    assert load_files(train=train, test=test, val_fraction=0.25, seed=1) == data


def test_load_csv_scheme_finds_siblings(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "text,label\na,x\nb,y\n")
    write(tmp_path / "dev.csv", "text,label\nc,x\n")
    write(tmp_path / "test.csv", "text,label\nd,y\n")
    for location in (tmp_path, tmp_path / "train.csv"):
        data = load(f"csv:{location}")
        assert data.name == tmp_path.name
        assert (data.train, data.val, data.test) == (
            [Example("a", "x"), Example("b", "y")],
            [Example("c", "x")],
            [Example("d", "y")],
        )


def test_load_folder_scheme(tmp_path: Path) -> None:
    write_folder(tmp_path / "train", {"a": [f"a{i}" for i in range(10)], "b": ["b0", "b1"]})
    write_folder(tmp_path / "test", {"a": ["ta"], "b": ["tb"]})
    data = load(f"folder:{tmp_path}", val_fraction=0.2, seed=0)
    assert data.counts()["val"] == {"a": 2, "b": 0}  # 0.2 * 2 = 0.4 rounds to 0
    assert len(data.train) == 10 and len(data.test) == 2


def test_load_scheme_without_test_file_says_where(tmp_path: Path) -> None:
    write(tmp_path / "train.jsonl", '{"text": "a", "label": "x"}\n')
    with pytest.raises(DatasetNotFoundError) as info:
        load(f"jsonl:{tmp_path / 'train.jsonl'}")
    assert str(tmp_path / "test.jsonl") in str(info.value)


# --- bad input: one line naming file, line and what was expected ----------------------------

BAD_CASES: dict[str, tuple[str, str | bytes, int, str]] = {
    # case: (file name, content, line named, words the message must hold)
    "empty csv": ("a.csv", "", 1, "the file is empty; expected a header line"),
    "blank jsonl": ("a.jsonl", "\n  \n", 1, "the file is empty; expected one JSON object"),
    "header only": ("a.csv", "text,label\n", 2, "no rows after the header"),
    "missing label column": (
        "a.csv",
        "\ntext,sentiment\nok,1\n",
        2,
        "no column 'label'; columns found: 'text', 'sentiment'",
    ),
    "missing text column": ("a.tsv", "label\tbody\nx\ty\n", 1, "no column 'text'"),
    "row without label": ("a.csv", "text,label\nfine,x\nno label here\n", 3, "no label"),
    "empty label": ("a.csv", "text,label\nfine,x\nempty label,  \n", 3, "no label"),
    "row without text": ("a.tsv", "text\tlabel\nfine\tx\n\ty\n", 3, "empty text"),
    "unquoted comma": ("a.csv", "text,label\nfine,x\nhello, world,y\n", 3, "3 fields, expected 2"),
    "non utf-8": ("a.csv", b"text,label\nfine,x\ncaf\xe9,y\n", 3, "not UTF-8 (byte 0xe9 at byte"),
    "malformed json": ("a.jsonl", '{"text": "a", "label": "x"}\n{"text": "b",\n', 2, "not valid"),
    "json not an object": ("a.jsonl", '["a", "x"]\n', 1, "a JSON array; expected a JSON object"),
    "json key missing": ("a.jsonl", '{"text": "a", "lbl": "x"}\n', 1, "no key 'label'"),
    "json empty text": ("a.jsonl", '{"text": "  ", "label": "x"}\n', 1, "empty text"),
    "json null label": ("a.jsonl", '{"text": "a", "label": null}\n', 1, "no label"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_table_gives_one_line_naming_file_and_line(case: str, tmp_path: Path) -> None:
    name, content, line, expected = BAD_CASES[case]
    path = write(tmp_path / name, content)
    with pytest.raises(DatasetFormatError) as info:
        read_table(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: line {line}: "), message
    assert expected in message, message


def test_non_utf8_message_gives_the_byte_offset(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"text,label\nfine,x\ncaf\xe9,y\n")
    with pytest.raises(DatasetFormatError, match="at byte offset 21"):
        read_table(path)


def test_unknown_suffix_asks_for_format(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xlsx", "x")
    with pytest.raises(DatasetFormatError, match="pass format=") as info:
        read_table(path)
    assert str(path) in str(info.value)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_label_seen_only_in_test_names_label_file_and_line(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", "text,label\na,pos\nb,neg\n")
    test = write(tmp_path / "test.csv", "text,label\nc,pos\nd,neutral\n")
    with pytest.raises(DatasetFormatError) as info:
        load_files(train=train, test=test)
    message = str(info.value)
    assert message.startswith(f"{test}: line 3: label 'neutral' is not among the labels")
    assert str(train) in message and "'neg', 'pos'" in message and "\n" not in message


def test_label_seen_only_in_a_test_folder_names_the_file(tmp_path: Path) -> None:
    train = write_folder(tmp_path / "train", {"a": ["x"], "b": ["y"]})
    test = write_folder(tmp_path / "test", {"a": ["x"], "c": ["z"]})
    with pytest.raises(DatasetFormatError, match="label 'c' is not among") as info:
        load_files(train=train, test=test, val_fraction=0.5)
    assert str(test / "c" / "000.txt") in str(info.value)


FOLDER_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty file": (lambda root: write(root / "a" / "x.txt", " \n"), "line 1: empty text"),
    "non utf-8": (lambda root: write(root / "a" / "x.txt", b"ok\n\xff"), "line 2: not UTF-8"),
    "class without txt": (lambda root: write(root / "a" / "x.md", "hi"), "no .txt files"),
}


@pytest.mark.parametrize("case", sorted(FOLDER_CASES))
def test_bad_folder_names_the_file(case: str, tmp_path: Path) -> None:
    make, expected = FOLDER_CASES[case]
    root = tmp_path / "docs"
    write(root / "b" / "fine.txt", "fine")
    bad = make(root)
    with pytest.raises(DatasetFormatError) as info:
        read_folder(root)
    message = str(info.value)
    named = bad if bad.suffix == ".txt" else bad.parent
    assert message.startswith(f"{named}: ") and expected in message and "\n" not in message


def test_folder_without_class_folders(tmp_path: Path) -> None:
    write(tmp_path / "loose.txt", "hi")
    with pytest.raises(DatasetFormatError, match="no class folders") as info:
        read_folder(tmp_path)
    assert str(tmp_path) in str(info.value)
