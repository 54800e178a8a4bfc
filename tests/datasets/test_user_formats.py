"""The user's files as people have them: without a header, other column names or numbers,
several text columns, a single file split into train / val / test, a file scored against a
run's labels; each bad input one line naming the file, the line and what was expected."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rnnkit.datasets import (
    ClassificationData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    load,
    load_files,
    read_table,
)
from rnnkit.datasets.splits import stratified_parts, stratified_split
from rnnkit.datasets.user import read_labelled
from rnnkit.tasks.text_data import DataConfig, load_dataset


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8", newline="")
    return path


def one_line(error: pytest.ExceptionInfo[BaseException], *fragments: str) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# The single file of the split tests: 3 labels of unequal size, in file order a, b, c, a, ...
SIZES = {"neg": 50, "neu": 20, "pos": 30}


def labelled_tsv(path: Path) -> Path:
    rows = [f"{label}\t{label} text number {i}\n" for label, n in SIZES.items() for i in range(n)]
    return write(path, "".join(rows[i] for i in sorted(range(len(rows)), key=lambda i: i % 7)))


# --- formats --------------------------------------------------------------------------------


def test_headerless_tsv_by_column_number(tmp_path: Path) -> None:
    path = write(tmp_path / "train.tsv", 'pos\ta "fine" film\n\nneg\tdull\n')
    got = read_table(path, header=False, label_field="0", text_field="1")
    assert got == [Example('a "fine" film', "pos"), Example("dull", "neg")]


def test_headerless_csv_keeps_its_first_line(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", '"Great, really",pos\nbad,neg\n')
    got = read_table(path, header=False, text_field="0", label_field="1")
    assert got == [Example("Great, really", "pos"), Example("bad", "neg")]


def test_csv_with_other_names_and_two_text_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "news.csv", "id,title,body,topic\n1,Rates rise,Banks moved.,econ\n")
    got = read_table(path, text_field="title,body", label_field="topic")
    assert got == [Example("Rates rise\nBanks moved.", "econ")]  # joined in order, a newline
    assert read_table(path, text_field="2", label_field="3") == [Example("Banks moved.", "econ")]


def test_one_empty_text_column_of_several_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "news.tsv", "title\tbody\tlabel\n\tonly a body\tx\n")
    assert read_table(path, text_field="title,body") == [Example("only a body", "x")]


def test_jsonl_with_other_keys_and_jsonl_arrays(tmp_path: Path) -> None:
    objects = write(tmp_path / "a.jsonl", '{"review": "fine", "stars": 5, "title": "T"}\n')
    assert read_table(objects, text_field="title,review", label_field="stars") == [
        Example("T\nfine", "5")
    ]
    arrays = write(tmp_path / "b.jsonl", '[1, "fine film"]\n["neg", "dull"]\n')
    assert read_table(arrays, header=False, label_field="0", text_field="1") == [
        Example("fine film", "1"),
        Example("dull", "neg"),
    ]


def test_the_options_reach_load_and_the_data_config(tmp_path: Path) -> None:
    write(tmp_path / "train.tsv", "pos\tgood\nneg\tbad\n")
    write(tmp_path / "test.tsv", "neg\tawful\n")
    data = load(f"tsv:{tmp_path}", header=False, label_field="0", text_field="1", val_fraction=0)
    assert data.train == [Example("good", "pos"), Example("bad", "neg")]
    assert data.test == [Example("awful", "neg")]
    config = DataConfig(
        dataset=f"tsv:{tmp_path}", header=False, label_field="0", text_field="1", val_fraction=0
    )
    assert load_dataset(config) == data


# --- a single file split into train / val / test ---------------------------------------------


def test_a_single_file_is_split_disjoint_complete_stratified_and_seeded(tmp_path: Path) -> None:
    path = labelled_tsv(tmp_path / "reviews.tsv")
    options: dict[str, Any] = {"header": False, "label_field": "0", "text_field": "1"}
    data = load(f"tsv:{path}", test_fraction=0.2, val_fraction=0.1, seed=3, **options)
    every = read_table(path, **options)
    texts = [{e.text for e in part} for part in (data.train, data.val, data.test)]
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    assert Counter(data.train + data.val + data.test) == Counter(every)
    for split, fraction in (("test", 0.2), ("val", 0.1)):
        counts = data.counts()[split]
        for label, n in SIZES.items():
            assert abs(counts[label] - fraction * n) <= 1, (split, label, counts)
    again = load(f"tsv:{path}", test_fraction=0.2, val_fraction=0.1, seed=3, **options)
    other = load(f"tsv:{path}", test_fraction=0.2, val_fraction=0.1, seed=4, **options)
    assert again == data
    assert {e.text for e in other.test} != texts[2]


def test_a_single_folder_per_class_is_split_too(tmp_path: Path) -> None:
    for label, n in (("ham", 10), ("spam", 10)):
        for i in range(n):
            write(tmp_path / "mail" / label / f"{i}.txt", f"{label} {i}")
    data = load(f"folder:{tmp_path / 'mail'}", test_fraction=0.2, val_fraction=0.2, seed=0)
    assert data.counts()["test"] == {"ham": 2, "spam": 2}
    assert data.counts()["val"] == {"ham": 2, "spam": 2}
    assert len(data.train) == 12


def test_a_val_file_beside_a_single_file_is_used(tmp_path: Path) -> None:
    train = labelled_tsv(tmp_path / "train.tsv")
    write(tmp_path / "dev.tsv", "pos\tfine\n")
    data = load(f"tsv:{train}", header=False, label_field="0", text_field="1", test_fraction=0.1)
    assert data.val == [Example("fine", "pos")]
    assert len(data.test) == 10 and len(data.train) == 90


def test_a_test_file_and_a_test_fraction_are_refused(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", "text,label\na,x\nb,y\n")
    test = write(tmp_path / "test.csv", "text,label\nc,x\n")
    with pytest.raises(ValueError) as error:
        load(f"csv:{train}", test_fraction=0.2)
    one_line(error, str(test), "test_fraction is 0.2", "from one place")


def test_no_test_file_says_how_to_hold_one_out(tmp_path: Path) -> None:
    train = write(tmp_path / "reviews.csv", "text,label\na,x\nb,y\n")
    with pytest.raises(DatasetNotFoundError) as error:
        load(f"csv:{train}")
    one_line(error, str(tmp_path / "test.csv"), "--test-fraction 0.1")


def test_stratified_parts_with_one_fraction_is_stratified_split() -> None:
    examples = [Example(f"t{i}", "ab"[i % 3 == 0]) for i in range(41)]
    assert stratified_parts(examples, (0.3,), seed=5) == list(
        stratified_split(examples, 0.3, seed=5)
    )
    rest, test, val = stratified_parts(examples, (0.2, 0.0), seed=5)
    assert val == [] and len(test) == 8 and len(rest) == 33


def test_stratified_parts_keeps_a_training_example_of_every_label() -> None:
    examples = [Example("only", "rare"), *(Example(f"t{i}", "common") for i in range(9))]
    rest, test, val = stratified_parts(examples, (0.5, 0.4), seed=0)
    assert Example("only", "rare") in rest
    assert (len(test), len(val)) == (5, 3)  # the second part is cut so that rest keeps one


# --- evaluating a file against a run's labels -------------------------------------------------


def test_read_labelled_takes_a_scheme_or_the_fallback_format(tmp_path: Path) -> None:
    path = write(tmp_path / "new.txt", "pos\tgood\n")
    options: dict[str, Any] = {
        "labels": ["neg", "pos"],
        "header": False,
        "label_field": "0",
        "text_field": "1",
    }
    assert read_labelled(f"tsv:{path}", **options) == [Example("good", "pos")]
    assert read_labelled(path, format="tsv", **options) == [Example("good", "pos")]
    with pytest.raises(DatasetFormatError, match="cannot tell the format"):
        read_labelled(path, **options)


def test_read_labelled_names_an_unknown_label_its_line_and_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "new.csv", "text,label\ngood,pos\nmeh,neutral\n")
    with pytest.raises(DatasetFormatError) as error:
        read_labelled(path, labels=["neg", "pos"], owner="the run runs/x")
    message = one_line(error, "label 'neutral'", "the run runs/x", "'neg', 'pos'")
    assert message.startswith(f"{path}: line 3: ")


# --- bad input: one line naming the file, the line and what was expected ---------------------

BAD: dict[str, tuple[str, str, dict[str, Any], int, tuple[str, ...]]] = {
    # case: (file name, content, read_table options, line named, fragments of the message)
    "text field not in the header": (
        "a.csv", "id,review,stars\n1,fine,5\n", {"text_field": "body"}, 1,
        ("no column 'body'", "columns found: 'id', 'review', 'stars'", "--no-header"),
    ),
    "one of two text fields missing": (
        "a.tsv", "title\tlabel\nA\tx\n", {"text_field": "title,body"}, 1,
        ("no column 'body'", "columns found: 'title', 'label'"),
    ),
    "a header of data (no --no-header)": (
        "a.tsv", "pos\tgood film\nneg\tbad\n", {}, 1,
        ("no column 'text'", "columns found: 'pos', 'good film'", "--no-header"),
    ),
    "a name without a header": (
        "a.tsv", "pos\tgood film\n", {"header": False}, 1,
        ("the text field 'text' is a name", "0 'pos', 1 'good film'", "--text-field 1"),
    ),
    "a column number past the row": (
        "a.tsv", "pos\tgood film\n", {"header": False, "text_field": "2", "label_field": "0"}, 1,
        ("no column 2", "2 columns: 0 'pos', 1 'good film'"),
    ),
    "a column number past the header": (
        "a.csv", "text,label\na,x\n", {"text_field": "5"}, 1,
        ("no column '5'", "columns found: 'text', 'label'"),
    ),
    "a short row without a header": (
        "a.tsv", "pos\tgood\tfilm\nneg\tbad\n", {"header": False, "text_field": "1",
                                                  "label_field": "0"}, 2,
        ("2 fields, expected 3 as in line 1",),
    ),
    "jsonl arrays read as objects": (
        "a.jsonl", '["pos", "good"]\n', {}, 1, ("a JSON array; expected a JSON object",
                                               "--no-header"),
    ),
    "jsonl objects read as arrays": (
        "a.jsonl", '{"text": "good", "label": "pos"}\n', {"header": False, "text_field": "1",
                                                           "label_field": "0"}, 1,
        ("a JSON object; expected a JSON array",),
    ),
    "jsonl key missing": (
        "a.jsonl", '{"review": "good", "label": "pos"}\n', {}, 1,
        ("no key 'text'; keys found: 'review', 'label'", "--text-field"),
    ),
    "jsonl column past the array": (
        "a.jsonl", '["pos"]\n', {"header": False, "text_field": "1", "label_field": "0"}, 1,
        ("no column 1; the array has 1",),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_columns_give_one_line_naming_file_and_line(case: str, tmp_path: Path) -> None:
    name, content, options, line, fragments = BAD[case]
    path = write(tmp_path / name, content)
    with pytest.raises(DatasetFormatError) as error:
        read_table(path, **options)
    assert one_line(error, *fragments).startswith(f"{path}: line {line}: ")


@pytest.mark.parametrize(
    ("fractions", "expected"),
    [
        ({"val_fraction": 1.0, "test_fraction": 0.0}, "val_fraction must be in [0, 1), got 1.0"),
        ({"val_fraction": 0.1, "test_fraction": -0.1}, "test_fraction must be in [0, 1), got -0.1"),
        ({"val_fraction": 0.1, "test_fraction": float("nan")}, "test_fraction must be in [0, 1)"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, "val_fraction + test_fraction must be below"),
    ],
)
def test_fractions_are_checked_in_the_config_and_the_loader(
    fractions: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError) as error:
        DataConfig(**fractions)
    assert one_line(error, expected).startswith("data: ")
    train = write(tmp_path / "train.csv", "text,label\na,x\nb,y\n")
    with pytest.raises(ValueError) as error:
        load_files(train=train, **fractions)
    one_line(error, expected)


def test_a_label_column_of_one_class_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "all.tsv", "".join(f"{i}\tpos\n" for i in range(20)))
    config = DataConfig(
        dataset=f"tsv:{path}", header=False, text_field="0", label_field="1", test_fraction=0.2
    )
    with pytest.raises(DatasetFormatError) as error:
        load_dataset(config)
    one_line(error, f"tsv:{path}", "the label 'pos'", "label_field '1'", "at least two labels")


def test_bad_field_options_are_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "text,label\na,x\n")
    with pytest.raises(ValueError, match="label_field must name one column, got 'a,b'"):
        read_table(path, label_field="a,b")
    with pytest.raises(ValueError, match="text_field must name a column"):
        read_table(path, text_field=" , ")
    (tmp_path / "docs" / "x").mkdir(parents=True)
    with pytest.raises(ValueError, match="are for csv/tsv/jsonl files, not for a folder"):
        load(f"folder:{tmp_path / 'docs'}", text_field="body", test_fraction=0.5)


def test_a_split_file_is_classification_data(tmp_path: Path) -> None:
    path = labelled_tsv(tmp_path / "reviews.tsv")
    data = load_files(train=path, header=False, label_field="0", text_field="1", test_fraction=0.5)
    assert isinstance(data, ClassificationData) and data.labels == sorted(SIZES)
