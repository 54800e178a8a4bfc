"""The SST reader: tree parsing, label schemes, phrases, layout checks; counts on the real zip.

The real-data tests run when ``RNNKIT_DATA`` is set (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from rnnkit.datasets import ClassificationData, DatasetFormatError, Example, load
from rnnkit.datasets.sst import SST2_LABELS, SST5_LABELS, parse_tree, read_sst2, read_sst5

needs_data = pytest.mark.skipif(
    not os.environ.get("RNNKIT_DATA"), reason="RNNKIT_DATA is not set (CI sets ../shared/data)"
)

ZIP = "trainDevTestTrees_PTB.zip"
TRAIN = (
    "(3 (2 -LRB-) (3 (3 (2 A) (4 co-writer\\/director)) (2 -RRB-)))\n"
    "(1 (2 (2 A) (4 co-writer\\/director)) (0 (0 bad) (2 film)))\n"
    "(2 (2 Just) (2 film))\n"
)
DEV = "(4 (4 superb) (2 .))\n(2 (2 so) (2 so))\n"
TEST = "(0 (0 awful) (2 .))\n"


def write_zip(folder: Path, members: dict[str, str | bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if members is None:
        members = {"trees/train.txt": TRAIN, "trees/dev.txt": DEV, "trees/test.txt": TEST}
    with zipfile.ZipFile(folder / ZIP, "w") as archive:
        archive.writestr("trees/", b"")
        for name, content in members.items():
            archive.writestr(name, content)
    return folder / ZIP


def pairs(examples: list[Example]) -> list[tuple[str, str]]:
    return [(e.text, e.label) for e in examples]


# --- parsing ------------------------------------------------------------------------------


def test_parse_tree_gives_every_node_in_preorder_with_escapes_undone() -> None:
    nodes = parse_tree("(3 (2 -LRB-) (3 (3 (2 A) (4 co-writer\\/director)) (2 -RRB-)))")
    assert [(p.label, " ".join(p.words)) for p in nodes] == [
        ("3", "( A co-writer/director )"),
        ("2", "("),
        ("3", "A co-writer/director )"),
        ("3", "A co-writer/director"),
        ("2", "A"),
        ("4", "co-writer/director"),
        ("2", ")"),
    ]


def test_parse_tree_keeps_a_non_breaking_space_inside_a_word() -> None:
    (root, *_) = parse_tree("(2 (2 8\xa01\\/2) (2 stars))")
    assert root.words == ("8\xa01/2", "stars")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("(3 (2 a) (2 b)", "ends early"),
        ("(3 (2 a)) (2 b)", "after the end"),
        ("(7 (2 a) (2 b))", "label 0-4"),
        ("(3 (2 a) word (2 b))", "beside subtrees"),
        ("(3 (2) (2 b))", "no words"),
        ("3 (2 a)", r"expected '\('"),
    ],
)
def test_parse_tree_rejects_malformed_trees(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):  # `problem` is a regular expression
        parse_tree(line)


# --- the reader on a tiny zip ---------------------------------------------------------------


def test_sst5_sentences_and_label_names(tmp_path: Path) -> None:
    data = read_sst5(write_zip(tmp_path).parent)
    assert data.name == "sst5" and data.labels == list(SST5_LABELS)
    assert data.labels == ["very negative", "negative", "neutral", "positive", "very positive"]
    assert pairs(data.train) == [
        ("( A co-writer/director )", "positive"),
        ("A co-writer/director bad film", "negative"),
        ("Just film", "neutral"),
    ]
    assert pairs(data.val) == [("superb .", "very positive"), ("so so", "neutral")]
    assert pairs(data.test) == [("awful .", "very negative")]


def test_sst2_drops_neutral_and_maps_the_rest(tmp_path: Path) -> None:
    data = read_sst2(write_zip(tmp_path).parent)
    assert data.name == "sst2" and data.labels == list(SST2_LABELS)
    assert pairs(data.train) == [
        ("( A co-writer/director )", "positive"),
        ("A co-writer/director bad film", "negative"),
    ]
    assert pairs(data.val) == [("superb .", "positive")]
    assert pairs(data.test) == [("awful .", "negative")]


def test_phrases_extend_train_only_deduplicated_first_label_kept(tmp_path: Path) -> None:
    folder = write_zip(tmp_path).parent
    data = read_sst5(folder, phrases=True)
    assert pairs(data.train) == [
        ("( A co-writer/director )", "positive"),
        ("(", "neutral"),
        ("A co-writer/director )", "positive"),
        ("A co-writer/director", "positive"),  # tree 2 labels it 2: the first label is kept
        ("A", "neutral"),
        ("co-writer/director", "very positive"),
        (")", "neutral"),
        ("A co-writer/director bad film", "negative"),
        ("bad film", "very negative"),
        ("bad", "very negative"),
        ("film", "neutral"),
        ("Just film", "neutral"),
        ("Just", "neutral"),
    ]
    assert data.val == read_sst5(folder).val and data.test == read_sst5(folder).test


def test_sst2_phrases_drop_neutral_phrases(tmp_path: Path) -> None:
    data = read_sst2(write_zip(tmp_path).parent, phrases=True)
    assert pairs(data.train) == [
        ("( A co-writer/director )", "positive"),
        ("A co-writer/director )", "positive"),
        ("A co-writer/director", "positive"),
        ("co-writer/director", "positive"),
        ("A co-writer/director bad film", "negative"),
        ("bad film", "negative"),
        ("bad", "negative"),
    ]


def test_lowercase_merges_phrases_that_differ_in_case(tmp_path: Path) -> None:
    folder = write_zip(
        tmp_path,
        {
            "trees/train.txt": "(4 (4 Good))\n(3 (3 good))\n",
            "trees/dev.txt": DEV,
            "trees/test.txt": TEST,
        },
    ).parent
    assert len(read_sst5(folder, phrases=True).train) == 2
    assert pairs(read_sst5(folder, phrases=True, lowercase=True).train) == [
        ("good", "very positive")
    ]


# --- layout and format errors ---------------------------------------------------------------


def test_missing_member_names_the_zip_and_the_member(tmp_path: Path) -> None:
    path = write_zip(tmp_path, {"trees/train.txt": TRAIN, "trees/test.txt": TEST})
    with pytest.raises(DatasetFormatError) as info:
        read_sst5(tmp_path)
    assert str(path) in str(info.value) and "no member trees/dev.txt" in str(info.value)


def test_not_a_zip_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ZIP).write_bytes(b"<html>a login page, not a zip</html>")
    with pytest.raises(DatasetFormatError, match="not a readable zip") as info:
        read_sst2(tmp_path)
    assert str(tmp_path / ZIP) in str(info.value)


def test_bad_tree_names_member_and_line(tmp_path: Path) -> None:
    write_zip(
        tmp_path,
        {
            "trees/train.txt": TRAIN,
            "trees/dev.txt": "(4 (4 fine))\n(4 (4 broken)\n",
            "trees/test.txt": TEST,
        },
    )
    with pytest.raises(DatasetFormatError) as info:
        read_sst5(tmp_path)
    message = str(info.value)
    assert f"{ZIP}:trees/dev.txt: line 2:" in message and "ends early" in message
    assert "\n" not in message


def test_non_utf8_member_names_the_byte_offset(tmp_path: Path) -> None:
    bad = b"(4 (4 fine))\n(4 (4 caf\xe9))\n"
    write_zip(tmp_path, {"trees/train.txt": TRAIN, "trees/dev.txt": DEV, "trees/test.txt": bad})
    with pytest.raises(DatasetFormatError, match=r"trees/test.txt: line 2: not UTF-8 .*offset 22"):
        read_sst5(tmp_path)


# --- the real zip ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sst5() -> ClassificationData:
    return load("sst5", download=False)


@pytest.fixture(scope="module")
def sst2() -> ClassificationData:
    return load("sst2", download=False)


@needs_data
def test_real_sst5_counts(sst5: ClassificationData) -> None:
    assert (len(sst5.train), len(sst5.val), len(sst5.test)) == (8544, 1101, 2210)
    # root-label counts of shared/data/sst/SOURCE.md
    assert list(sst5.counts()["train"].values()) == [1092, 2218, 1624, 2322, 1288]
    assert list(sst5.counts()["val"].values()) == [139, 289, 229, 279, 165]
    assert list(sst5.counts()["test"].values()) == [279, 633, 389, 510, 399]
    assert sst5.train[0].text.startswith("The Rock is destined to be the 21st Century 's new")
    assert sst5.train[0].label == "positive"


@needs_data
def test_real_sst2_counts(sst2: ClassificationData) -> None:
    assert (len(sst2.train), len(sst2.val), len(sst2.test)) == (6920, 872, 1821)
    assert sst2.counts()["train"] == {"negative": 1092 + 2218, "positive": 2322 + 1288}


@needs_data
def test_real_texts_have_no_ptb_escapes(sst5: ClassificationData) -> None:
    texts = [e.text for split in ("train", "val", "test") for e in sst5.split(split)]
    for escape in ("-LRB-", "-RRB-", "\\/", "\\*"):
        assert not any(escape in text for text in texts), escape
    assert any("(" in text for text in texts) and any("/" in text for text in texts)


@needs_data
@pytest.mark.parametrize(
    ("name", "lowercase", "expected"),
    [
        ("sst2", True, 77_195),  # shared/baselines.md: unique non-neutral phrases, lowercased
        ("sst5", True, 156_817),  # shared/baselines.md: unique phrases, lowercased
        ("sst2", False, 77_616),  # the same, case kept
    ],
)
def test_real_phrase_counts(
    name: str, lowercase: bool, expected: int, sst2: ClassificationData
) -> None:
    data = load(name, download=False, phrases=True, lowercase=lowercase)
    assert len(data.train) == expected
    assert len(data.val) == {"sst2": 872, "sst5": 1101}[name]
    assert len({e.text for e in data.train}) == len(data.train)
    if name == "sst2" and not lowercase:
        phrase_texts = {e.text for e in data.train}
        assert all(e.text in phrase_texts for e in sst2.train)
        assert data.val == sst2.val and data.test == sst2.test
        assert Counter(e.label for e in data.train).keys() == {"negative", "positive"}
