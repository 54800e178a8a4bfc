"""Tagged sentences: the containers, the column reader, CoNLL-2003, ``columns:PATH`` and the
registry's tag datasets; every bad input stops with one line naming the file and the line.

The real-data tests run when ``RNNKIT_DATA`` is set (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import ast
import doctest
import os
from collections import Counter
from pathlib import Path

import pytest

from rnnkit.datasets import (
    ClassificationData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    TaggedSentence,
    TaggingData,
    available,
    conll,
    corpora,
    load,
    newsgroups,
    parallel,
    read_columns,
    read_conll2003,
    registry,
    sst,
    user,
)
from rnnkit.datasets.base import SplitData, tags_in_order
from rnnkit.datasets.registry import REGISTRY, RemoteFile
from rnnkit.datasets.splits import random_split

needs_data = pytest.mark.skipif(
    not os.environ.get("RNNKIT_DATA"), reason="RNNKIT_DATA is not set (CI sets ../shared/data)"
)

CONLL_PAGE = "https://www.clips.uantwerpen.be/conll2003/ner/"

TRAIN = """-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- O O

BRUSSELS NNP I-NP I-LOC
1996-08-22 CD I-NP O
"""
TESTA = """-DOCSTART- -X- O O

CRICKET NNP I-NP O
LEICESTERSHIRE NNP I-NP I-ORG
"""
# The real eng.testb starts with the quirk "-DOCSTART- -X- -X- O".
TESTB = """-DOCSTART- -X- -X- O

SOCCER NN I-NP O
JAPAN NNP I-NP I-LOC
"""


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def write_conll(folder: Path, train: str = TRAIN, testa: str = TESTA, testb: str = TESTB) -> Path:
    for name, content in (("eng.train", train), ("eng.testa", testa), ("eng.testb", testb)):
        write(folder / name, content)
    return folder


def columns_file(n: int, tag: str = "B-X") -> str:
    """``n`` two-token sentences, sentence ``i`` made of the tokens ``w{i}`` and ``v{i}``."""
    return "".join(f"w{i}\tNN\t{tag}\nv{i}\tVB\tO\n\n" for i in range(n))


def words(sentences: list[TaggedSentence]) -> list[str]:
    return [s.tokens[0] for s in sentences]


def assert_one_line(error: pytest.ExceptionInfo[Exception], path: Path, line: int) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: line {line}: "), message
    return message


# --- the containers ---------------------------------------------------------------------------


def test_both_containers_share_one_generic_base() -> None:
    assert issubclass(ClassificationData, SplitData) and issubclass(TaggingData, SplitData)
    assert ClassificationData.split is SplitData.split is TaggingData.split
    data = TaggingData(train=[], val=[], test=[], tags=[], name="empty")
    with pytest.raises(ValueError, match="TaggingData: split must be one of"):
        data.split("dev")
    with pytest.raises(ValueError, match="ClassificationData: split must be one of"):
        ClassificationData(train=[], val=[], test=[], labels=[]).split("dev")


def test_tagged_sentence_checks_lengths() -> None:
    sentence = TaggedSentence(("a", "b"), ("O", "B-X"), features=(("DT", "NN"),))
    assert sentence.features == (("DT", "NN"),)
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        TaggedSentence(("a", "b"), ("O",))
    with pytest.raises(ValueError, match="feature 0 has 3 values"):
        TaggedSentence(("a", "b"), ("O", "O"), features=(("x", "y", "z"),))
    with pytest.raises(ValueError, match="no tokens"):
        TaggedSentence((), ())


def test_tagging_data_counts_summary_and_checks() -> None:
    data = TaggingData(
        train=[TaggedSentence(("Paris", "is", "big"), ("B-LOC", "O", "O"))],
        val=[TaggedSentence(("Rome",), ("B-LOC",))],
        test=[TaggedSentence(("so", "it", "goes"), ("O", "O", "O"))] * 2,
        tags=["O", "B-LOC"],
        scheme="iob2",
        name="toy",
    )
    assert data.counts() == {
        "train": {"sentences": 1, "tokens": 3},
        "val": {"sentences": 1, "tokens": 1},
        "test": {"sentences": 2, "tokens": 6},
    }
    lines = data.summary().splitlines()
    assert lines[0] == "toy: 2 tags (iob2)"
    assert lines[1].split() == ["train", "val", "test"]
    assert lines[2].split() == ["sentences", "1", "1", "2"]
    assert lines[3].split() == ["tokens", "3", "1", "6"]
    assert lines[4].split() == ["O", "2", "0", "6"] and lines[5].split() == ["B-LOC", "1", "1", "0"]

    def make(**changes: object) -> TaggingData:
        fields: dict[str, object] = {"train": data.train, "val": [], "test": [], "tags": data.tags}
        fields.update(changes)
        return TaggingData(**fields)  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="val sentence 0 has tag 'I-LOC'"):
        make(val=[TaggedSentence(("x",), ("I-LOC",))])
    with pytest.raises(ValueError, match="scheme must be one of"):
        make(scheme="bio")
    with pytest.raises(ValueError, match="tags repeated"):
        make(tags=["O", "B-LOC", "O"])
    with pytest.raises(ValueError, match="tag 'E-LOC' is not in the iob2 scheme"):
        make(tags=["O", "B-LOC", "E-LOC"])
    with pytest.raises(ValueError, match="0 feature columns, expected 1"):
        make(feature_names=("pos",))


def test_tags_in_order_puts_o_first() -> None:
    sentences = [TaggedSentence(("a", "b", "c"), ("I-PER", "O", "B-LOC"))]
    assert tags_in_order(sentences) == ["O", "B-LOC", "I-PER"]
    assert tags_in_order([TaggedSentence(("a",), ("S-X",))]) == ["S-X"]  # no O, none added


@pytest.mark.parametrize("module", [conll], ids=lambda m: m.__name__)
def test_docstring_examples_pass(module: object) -> None:
    result = doctest.testmod(module, verbose=False, report=False)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


# --- the column reader ------------------------------------------------------------------------


def test_docstart_lines_and_the_blank_after_them_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.txt",
        "-DOCSTART- -X- -X- O\n\nEU NNP I-NP I-ORG\nsays VBZ I-VP O\n"
        "-DOCSTART-\n"  # no blank line before it, fewer columns: still a boundary, not a token
        "Bonn NNP I-NP I-LOC\n\n\n-DOCSTART- -X- O O\n\n",
    )
    sentences = read_columns(path, scheme="iob1")
    assert [s.tokens for s in sentences] == [("EU", "says"), ("Bonn",)]
    assert [s.tags for s in sentences] == [("I-ORG", "O"), ("I-LOC",)]
    assert all("-DOCSTART-" not in s.tokens for s in sentences)


def test_whitespace_lines_tabs_crlf_bom_and_no_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path / "a.tsv", "\ufeffJohn\tB-PER\r\nlives\tO\r\n \t \r\nParis  B-LOC")
    sentences = read_columns(path)
    assert sentences == [
        TaggedSentence(("John", "lives"), ("B-PER", "O")),
        TaggedSentence(("Paris",), ("B-LOC",)),
    ]


def test_feature_columns_by_index_in_the_order_asked(tmp_path: Path) -> None:
    # token, POS, predicate indicator, tag: an SRL-like file
    path = write(tmp_path / "srl.txt", "He PRP - B-A0\nate VBD ate B-V\nfish NN - B-A1\n")
    (sentence,) = read_columns(path, features=(2, 1))
    assert sentence.features == (("-", "ate", "-"), ("PRP", "VBD", "NN"))
    (again,) = read_columns(path, features=(-2,), tag_column=3, token_column=-4)
    assert again.features == (("-", "ate", "-"),) and again.tokens == ("He", "ate", "fish")


def test_the_tag_column_may_be_any_column(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "B-PER John\nO lives\n")
    (sentence,) = read_columns(path, token_column=1, tag_column=0)
    assert sentence.tokens == ("John", "lives") and sentence.tags == ("B-PER", "O")


def test_bioes_tags(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "New B-LOC\nYork E-LOC\nis O\nbig S-ADJ\n")
    (sentence,) = read_columns(path, scheme="bioes")
    assert sentence.tags == ("B-LOC", "E-LOC", "O", "S-ADJ")


BAD_FILES: dict[str, tuple[str | bytes, dict[str, object], int, list[str]]] = {
    # case: (content, options, line named, words the message must hold)
    "column count": (
        "EU NNP B-ORG\nrejects VBZ O\nGerman JJ x B-MISC\n",
        {},
        3,
        ["4 columns, expected 3 as on line 1 (the file's first token line)"],
    ),
    "column count after docstart": (
        "-DOCSTART- -X- -X- O\n\nEU B-ORG\nsays VBZ O\n",
        {},
        4,
        ["3 columns, expected 2 as on line 3"],
    ),
    "tag column out of range": (
        "EU B-ORG\n",
        {"tag_column": 3},
        1,
        ["tag_column=3 is out of range: the file has 2 columns"],
    ),
    "negative tag column out of range": (
        "\n\nEU B-ORG\n",
        {"tag_column": -3},
        3,
        ["tag_column=-3 is out of range: the file has 2 columns"],
    ),
    "feature column out of range": (
        "EU NNP B-ORG\n",
        {"features": (1, 5)},
        1,
        ["features[1]=5 is out of range: the file has 3 columns"],
    ),
    "token column out of range": (
        "EU B-ORG\n",
        {"token_column": 2},
        1,
        ["token_column=2 is out of range: the file has 2 columns"],
    ),
    "tag outside iob2": (
        "New B-LOC\nYork E-LOC\n",
        {},
        2,
        [
            "tag 'E-LOC' is not in the iob2 scheme, which allows O and B-<type>, I-<type> "
            "(prefixes B, I)",
            "pass scheme='bioes'",
        ],
    ),
    "tag outside bioes": (
        "New B-LOC\nYork X-LOC\n",
        {"scheme": "bioes"},
        2,
        ["not in the bioes scheme", "prefixes B, I, E, S"],
    ),
    "pos column as tags": (
        "EU NNP B-ORG\n",
        {"tag_column": 1},
        1,
        ["tag 'NNP' is not in the iob2 scheme", "is column 1 the tag column?"],
    ),
    "outside tag with a type": ("EU O-ORG\n", {}, 1, ["tag 'O-ORG' is not in the iob2 scheme"]),
    "tag without a type": ("EU B-\n", {}, 1, ["tag 'B-' is not in the iob2 scheme"]),
    "empty file": ("", {}, 1, ["no sentences in the file"]),
    "only docstart and blanks": ("-DOCSTART- -X- O O\n\n\n", {}, 3, ["no sentences"]),
    "non utf-8": (b"EU B-ORG\ncaf\xe9 O\n", {}, 2, ["not UTF-8 (byte 0xe9 at byte offset 12)"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_one_line_naming_file_and_line(case: str, tmp_path: Path) -> None:
    content, options, line, expected = BAD_FILES[case]
    path = write(tmp_path / "bad.conll", content)
    with pytest.raises(DatasetFormatError) as info:
        read_columns(path, **options)  # type: ignore[arg-type]
    message = assert_one_line(info, path, line)
    for words_expected in expected:
        assert words_expected in message, message


def test_where_names_the_file_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "EU B-ORG\nsays\n")
    with pytest.raises(DatasetFormatError, match=r"^upload #3: line 2: 1 columns, expected 2"):
        read_columns(path, where="upload #3")


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        read_columns(tmp_path / "nope.txt")
    path = write(tmp_path / "a.txt", "EU B-ORG\n")
    with pytest.raises(ValueError, match="scheme must be one of"):
        read_columns(path, scheme="bio")
    with pytest.raises(ValueError, match="tag_column must be an int, got '1'"):
        read_columns(path, tag_column="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="features must be a tuple of ints"):
        read_columns(path, features="12")  # type: ignore[arg-type]


# --- CoNLL-2003 -------------------------------------------------------------------------------


def test_read_conll2003_splits_tags_and_files(tmp_path: Path) -> None:
    folder = write_conll(tmp_path)
    data = read_conll2003(folder)
    assert data.name == "conll2003" and data.scheme == "iob1" and data.feature_names == ()
    assert [s.tokens for s in data.train] == [
        ("EU", "rejects", "German"),
        ("Peter", "Blackburn"),
        ("BRUSSELS", "1996-08-22"),
    ]
    assert words(data.val) == ["CRICKET"] and words(data.test) == ["SOCCER"]
    assert data.tags == ["O", "I-LOC", "I-MISC", "I-ORG", "I-PER"]
    assert data.files == {
        "train": str(folder / "eng.train"),
        "val": str(folder / "eng.testa"),
        "test": str(folder / "eng.testb"),
    }


def test_read_conll2003_features_and_chunk_tags(tmp_path: Path) -> None:
    folder = write_conll(tmp_path)
    data = read_conll2003(folder, features=(1, 2))
    assert data.feature_names == ("pos", "chunk")
    assert data.train[0].features == (("NNP", "VBZ", "JJ"), ("I-NP", "I-VP", "I-NP"))
    chunks = read_conll2003(folder, tag_column=2, features=(-1,))
    assert chunks.tags == ["I-NP", "I-VP"] and chunks.feature_names == ("ner",)


def test_a_tag_never_seen_in_training_is_one_clear_error(tmp_path: Path) -> None:
    folder = write_conll(tmp_path, testb=TESTB + "\nTokyo NNP I-NP B-XYZ\nis VBZ I-VP B-XYZ\n")
    with pytest.raises(DatasetFormatError) as info:
        read_conll2003(folder)
    message = str(info.value)
    assert message == (
        f"tag B-XYZ appears in {folder / 'eng.testb'} line 6 but never in the training file "
        f"{folder / 'eng.train'}; the model cannot predict it"
    )


def test_conll_file_errors_name_the_file(tmp_path: Path) -> None:
    folder = write_conll(tmp_path, testa=TESTA + "Leeds NNP I-NP\n")
    with pytest.raises(DatasetFormatError) as info:
        read_conll2003(folder)
    assert_one_line(info, folder / "eng.testa", 5)
    (folder / "eng.testa").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"eng\.testa: no such file"):
        read_conll2003(folder)


# --- columns:PATH -----------------------------------------------------------------------------


def test_columns_folder_reads_each_split_from_its_file(tmp_path: Path) -> None:
    write(tmp_path / "ner" / "train.txt", columns_file(3))
    write(tmp_path / "ner" / "dev.conll", "a\tNN\tB-X\n")
    write(tmp_path / "ner" / "test.iob", "b\tNN\tO\n\nc\tNN\tB-X\n")
    data = load(f"columns:{tmp_path / 'ner'}", "tag", features=(1,))
    assert data.name == "ner" and data.scheme == "iob2" and data.feature_names == ("col1",)
    assert words(data.train) == ["w0", "w1", "w2"]
    assert words(data.val) == ["a"] and words(data.test) == ["b", "c"]
    assert data.files == {
        "train": str(tmp_path / "ner" / "train.txt"),
        "val": str(tmp_path / "ner" / "dev.conll"),
        "test": str(tmp_path / "ner" / "test.iob"),
    }
    assert data.tags == ["O", "B-X"]


def test_columns_folder_without_val_holds_it_out(tmp_path: Path) -> None:
    write(tmp_path / "train", columns_file(20))
    write(tmp_path / "test.bio", "b\tNN\tO\n")
    data = load(f"columns:{tmp_path}", "tag", val_fraction=0.25, seed=3)
    assert (len(data.train), len(data.val), len(data.test)) == (15, 5, 1)
    assert sorted(words(data.train) + words(data.val)) == sorted(f"w{i}" for i in range(20))
    assert data.files["val"] == data.files["train"] == str(tmp_path / "train")
    assert load(f"columns:{tmp_path}", "tag", val_fraction=0).val == []


def test_columns_single_file_holds_out_val_and_test(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.txt", columns_file(50))
    data = load(f"columns:{path}", "tag", val_fraction=0.2, test_fraction=0.1, seed=7)
    assert data.name == "mine"
    assert (len(data.train), len(data.val), len(data.test)) == (35, 10, 5)
    everything = words(data.train) + words(data.val) + words(data.test)
    assert sorted(everything) == sorted(f"w{i}" for i in range(50))  # disjoint and complete
    for split in ("train", "val", "test"):  # each split keeps the file's order
        order = [int(word[1:]) for word in words(data.split(split))]
        assert order == sorted(order)
    assert data.files == dict.fromkeys(("train", "val", "test"), str(path))
    again = load(f"columns:{path}", "tag", val_fraction=0.2, test_fraction=0.1, seed=7)
    assert again == data
    other = load(f"columns:{path}", "tag", val_fraction=0.2, test_fraction=0.1, seed=8)
    assert words(other.test) != words(data.test)
    default = load(f"columns:{path}", "tag")
    assert (len(default.train), len(default.val), len(default.test)) == (40, 5, 5)


def test_columns_held_out_tag_unseen_in_training_names_its_line(tmp_path: Path) -> None:
    # two sentences, lines 1-2 tagged B-Y and lines 4-5 tagged B-X: either one held out as val
    # takes a tag the other lacks
    path = write(tmp_path / "one.txt", columns_file(1, tag="B-Y") + columns_file(1))
    _rest, held = random_split(range(2), [0.5], seed=0)
    tag, line = [("B-Y", 1), ("B-X", 4)][held[0]]
    with pytest.raises(DatasetFormatError) as info:
        load(f"columns:{path}", "tag", val_fraction=0.5, test_fraction=0.0, seed=0)
    assert str(info.value) == (
        f"tag {tag} appears in {path} line {line}, in a sentence held out as val, but never in "
        "the sentences left for training; the model cannot predict it (pass another seed, or "
        "give val a file of its own)"
    )


def test_columns_missing_files_say_what_was_looked_for(tmp_path: Path) -> None:
    write(tmp_path / "test.txt", "b\tO\n")
    with pytest.raises(DatasetNotFoundError) as info:
        load(f"columns:{tmp_path}", "tag")
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: no train file (looked for train, with no extension")
    assert ".txt, .conll, .tsv, .iob, .bio" in message and "\n" not in message
    (tmp_path / "test.txt").unlink()
    write(tmp_path / "train.conll", "b\tO\n")
    with pytest.raises(DatasetNotFoundError, match=r"no test file \(looked for test / testb"):
        load(f"columns:{tmp_path}", "tag")
    with pytest.raises(DatasetNotFoundError, match="no such file or folder"):
        load(f"columns:{tmp_path / 'nope'}", "tag")


def test_columns_two_files_for_one_split_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "train.txt", "a\tO\n")
    write(tmp_path / "test.txt", "a\tO\n")
    write(tmp_path / "dev.txt", "a\tO\n")
    write(tmp_path / "val.tsv", "a\tO\n")
    with pytest.raises(DatasetFormatError, match=r"2 val files \(val.tsv, dev.txt\)"):
        load(f"columns:{tmp_path}", "tag")


def test_columns_options_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", columns_file(4))
    with pytest.raises(ValueError, match="val_fraction must be in"):
        load(f"columns:{path}", "tag", val_fraction=1.0)
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction must be below 1"):
        load(f"columns:{path}", "tag", val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match=r"unknown option.* tagcolumn") as info:
        load(f"columns:{path}", "tag", tagcolumn=1)
    assert "tag_column" in str(info.value) and "test_fraction" in str(info.value)


def test_the_task_must_match_the_data(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", columns_file(4))
    with pytest.raises(
        ValueError, match=r"rnnkit train tag. \(from Python: load\('columns:.*', 'tag'\)"
    ):
        load(f"columns:{path}")
    csv = write(tmp_path / "train.csv", "text,label\na,x\n")
    write(tmp_path / "test.csv", "text,label\nb,x\n")
    with pytest.raises(ValueError, match="is a 'classify' dataset"):
        load(f"csv:{csv}", "tag")
    with pytest.raises(ValueError, match=r"is a 'classify' dataset .*not 'lm'"):
        load(f"csv:{csv}", "lm")
    with pytest.raises(ValueError, match=r"is a 'classify' dataset .*not 'seq2seq'"):
        load(f"csv:{csv}", "seq2seq")
    with pytest.raises(ValueError, match="task must be one of classify, tag, lm, seq2seq"):
        load(f"csv:{csv}", "translate")
    assert load(f"csv:{csv}", "classify").train == [Example("a", "x")]


# --- the registry -----------------------------------------------------------------------------


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    roots = {name: tmp_path / name for name in ("data_dir", "env", "home")}
    for root in roots.values():
        root.mkdir()
    monkeypatch.setenv("HOME", str(roots["home"]))
    monkeypatch.setenv("RNNKIT_DATA", str(roots["env"]))
    monkeypatch.setenv("RNNKIT_OFFLINE", "1")
    return roots


def test_registry_lists_conll2003_as_a_tag_dataset(places: dict[str, Path]) -> None:
    spec = REGISTRY["conll2003"]
    assert spec.task == "tag" and spec.folder == "conll2003" and spec.homepage == CONLL_PAGE
    assert spec.files == tuple(
        RemoteFile(name, None, None) for name in ("eng.train", "eng.testa", "eng.testb")
    )
    assert "Tjong Kim Sang" in spec.citation and "Reuters" in spec.license
    rows = {row["name"]: row for row in available()}
    assert rows["conll2003"]["task"] == "tag" and not rows["conll2003"]["present"]
    assert rows["conll2003"]["options"] == ["tag_column", "features"]
    assert rows["conll2003"]["files"] == ["eng.train", "eng.testa", "eng.testb"]
    assert rows["sst2"]["task"] == "classify"
    write_conll(places["env"] / "conll2003")
    rows = {row["name"]: row for row in available()}
    assert rows["conll2003"]["present"]
    assert rows["conll2003"]["path"] == str(places["env"] / "conll2003")


def test_load_conll2003_through_the_registry(places: dict[str, Path]) -> None:
    write_conll(places["data_dir"])
    data = load("conll2003", "tag", data_dir=places["data_dir"], features=(1,))
    assert isinstance(data, TaggingData) and data.feature_names == ("pos",)
    assert len(data.train) == 3
    with pytest.raises(
        ValueError, match=r"rnnkit train tag. \(from Python: load\('conll2003', 'tag'\)"
    ):
        load("conll2003", data_dir=places["data_dir"])
    with pytest.raises(ValueError, match="unknown option"):
        load("conll2003", "tag", data_dir=places["data_dir"], phrases=True)


@pytest.mark.parametrize("offline", [True, False])
def test_conll2003_not_found_points_to_the_official_page(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch, offline: bool
) -> None:
    if not offline:
        monkeypatch.delenv("RNNKIT_OFFLINE")  # nothing to download anyway
    with pytest.raises(DatasetNotFoundError) as info:
        load("conll2003", "tag", data_dir=places["data_dir"])
    message = str(info.value)
    assert "it cannot be downloaded" in message and CONLL_PAGE in message
    assert "eng.train, eng.testa, eng.testb" in message and "None" not in message
    for folder in (
        places["data_dir"],
        places["data_dir"] / "conll2003",
        places["env"] / "conll2003",
        places["home"] / ".cache" / "rnnkit" / "conll2003",
    ):
        assert f"  {folder}" in message.splitlines(), message
    assert not (places["home"] / ".cache").exists()


def test_each_reader_declares_its_own_entries() -> None:
    declared = [*newsgroups.SPECS, *sst.SPECS, *conll.SPECS, *corpora.SPECS, *parallel.SPECS]
    assert list(REGISTRY.values()) == declared
    assert {spec.name for spec in conll.SPECS} == {"conll2003"}
    assert registry.USER_SCHEMES == (
        "csv", "tsv", "jsonl", "folder", "columns", "text", "parallel", "pairs",
    )  # fmt: skip
    formats = (
        *user.USER_FORMATS, *conll.USER_FORMATS, *corpora.USER_FORMATS, *parallel.USER_FORMATS,
    )  # fmt: skip
    assert [fmt.task for fmt in formats] == [
        "classify",
        "classify",
        "classify",
        "classify",
        "tag",
        "lm",
        "seq2seq",
        "seq2seq",
    ]
    # registry.py names no dataset: no reader-specific branching left there
    tree = ast.parse(Path(registry.__file__).read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]
    for name in ("sst", "conll", "newsgroups", "columns", "csv"):
        assert not any(name in text for text in strings), name


# --- the real CoNLL-2003 ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> TaggingData:
    return load("conll2003", "tag", download=False, features=(1, 2))


@needs_data
def test_real_conll2003_counts(real: TaggingData) -> None:
    counts = real.counts()
    assert [counts[split]["sentences"] for split in ("train", "val", "test")] == [
        14_041,
        3_250,
        3_453,
    ]
    assert [counts[split]["tokens"] for split in ("train", "val", "test")] == [
        203_621,
        51_362,
        46_435,
    ]
    assert real.scheme == "iob1" and real.feature_names == ("pos", "chunk")
    assert real.tags == ["O", "B-LOC", "B-MISC", "B-ORG", "I-LOC", "I-MISC", "I-ORG", "I-PER"]
    assert [Path(real.files[split]).name for split in ("train", "val", "test")] == [
        "eng.train",
        "eng.testa",
        "eng.testb",
    ]


@needs_data
def test_real_conll2003_sentences(real: TaggingData) -> None:
    first = real.train[0]
    assert first.tokens == (
        "EU",
        "rejects",
        "German",
        "call",
        "to",
        "boycott",
        "British",
        "lamb",
        ".",
    )
    assert first.tags == ("I-ORG", "O", "I-MISC", "O", "O", "O", "I-MISC", "O", "O")
    assert first.features[0][:2] == ("NNP", "VBZ") and first.features[1][:2] == ("I-NP", "I-VP")
    every = [s for split in ("train", "val", "test") for s in real.split(split)]
    assert not any("-DOCSTART-" in s.tokens for s in every)
    assert Counter(tag for s in real.train for tag in s.tags)["B-MISC"] == 37
