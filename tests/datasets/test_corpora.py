"""Language-modelling corpora: the named ones (PTB words and characters, WikiText-2, Tiny
Shakespeare) with their published counts, and the user's own text (``text:PATH``), whose every
bad input is one clear error naming the file.

The real-data tests run when ``RNNKIT_DATA`` holds the dataset (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rnnkit.datasets import CorpusData, DatasetFormatError, DatasetNotFoundError, load
from rnnkit.datasets.corpora import EOS, word_stream
from rnnkit.datasets.registry import REGISTRY


def data_folder(name: str) -> Path:
    """``$RNNKIT_DATA/<folder>`` of dataset ``name``, or skip saying what is missing."""
    root = os.environ.get("RNNKIT_DATA", "").strip()
    if not root:
        pytest.skip(f"RNNKIT_DATA is not set (CI sets ../shared/data); {name} needs it")
    spec = REGISTRY[name]
    folder = Path(root).expanduser().absolute() / spec.folder
    missing = [f.relative_path for f in spec.files if not (folder / f.relative_path).is_file()]
    if missing:
        pytest.skip(f"RNNKIT_DATA={root} lacks {spec.folder}/{', '.join(missing)} ({name})")
    return folder


@cache
def _load(name: str) -> CorpusData:
    return load(name, "lm", download=False)


def real(name: str) -> CorpusData:
    data_folder(name)
    return _load(name)


# --- the named corpora ------------------------------------------------------------------------


def test_ptb_has_mikolovs_counts_and_ten_thousand_words() -> None:
    ptb = real("ptb")
    assert ptb.counts() == {"train": 929_589, "val": 73_760, "test": 82_430}
    assert len(set(ptb.train)) == 10_000
    assert ptb.level == "word" and ptb.eos == EOS and ptb.name == "ptb"
    assert "<unk>" in set(ptb.train)
    assert ptb.train[-1] == EOS
    assert [Path(ptb.files[s]).name for s in ("train", "val", "test")] == [
        "ptb.train.txt",
        "ptb.valid.txt",
        "ptb.test.txt",
    ]


def test_ptb_char_is_at_the_character_level() -> None:
    chars = real("ptb-char")
    assert chars.level == "char" and chars.eos == EOS
    symbols = set(chars.train) - {EOS}
    assert all(len(symbol) == 1 for symbol in symbols), sorted(s for s in symbols if len(s) > 1)
    assert "_" in symbols  # the word boundary
    assert all(chars.counts()[split] > 0 for split in ("train", "val", "test"))


def test_wikitext2_has_the_published_counts() -> None:
    wiki = real("wikitext-2")
    assert wiki.counts() == {"train": 2_088_628, "val": 217_646, "test": 245_569}
    assert len(set(wiki.train)) == 33_278
    assert wiki.level == "word" and wiki.eos == EOS


def test_tinyshakespeare_is_nanogpts_90_10_cut_without_test() -> None:
    folder = data_folder("tinyshakespeare")
    text = (folder / "input.txt").read_text(encoding="utf-8")
    assert len(text) == 1_115_394
    cut = int(0.9 * 1_115_394)
    shakespeare = real("tinyshakespeare")
    assert "".join(shakespeare.train) == text[:cut]
    assert "".join(shakespeare.val) == text[cut:]
    assert len(shakespeare.train) == cut and len(shakespeare.val) == 1_115_394 - cut
    assert shakespeare.test == []
    assert len(set(shakespeare.train)) == 65
    assert shakespeare.level == "char" and shakespeare.eos is None
    assert "\n" in set(shakespeare.train)


@pytest.mark.parametrize("name", ["ptb", "ptb-char", "wikitext-2", "tinyshakespeare"])
def test_an_lm_corpus_asked_for_classification_names_rnnkit_train_lm(name: str) -> None:
    with pytest.raises(ValueError, match="`rnnkit train lm`") as info:
        load(name, download=False)
    assert name in str(info.value) and "'lm'" in str(info.value)


def test_the_users_text_asked_for_another_task_names_rnnkit_train_lm(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat\n", encoding="utf-8")
    with pytest.raises(ValueError, match="`rnnkit train lm`"):
        load(f"text:{path}", "tag")


# --- the user's own text ----------------------------------------------------------------------


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


LINES = [f"line{i} w{i} end" for i in range(20)]


def test_one_file_is_cut_by_lines_in_reading_order(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.txt", "\n".join(LINES) + "\n")
    data = load(f"text:{path}", "lm", val_fraction=0.1, test_fraction=0.2)
    # 20 lines: the last 2 + 4 are held out, val before test, nothing shuffled
    assert data.train == word_stream("\n".join(LINES[:14]))
    assert data.val == word_stream("\n".join(LINES[14:16]))
    assert data.test == word_stream("\n".join(LINES[16:]))
    assert data.counts() == {"train": 14 * 4, "val": 2 * 4, "test": 4 * 4}
    assert data.level == "word" and data.eos == EOS
    assert data.files == {split: str(path) for split in ("train", "val", "test")}
    assert data.name == f"text:{path}"


def test_one_file_with_the_default_fractions_holds_out_five_percent_each(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.txt", "\n".join(LINES) + "\n")
    data = load(f"text:{path}", "lm")
    assert [len(s) // 4 for s in (data.train, data.val, data.test)] == [18, 1, 1]
    assert data.val[0] == "line18" and data.test[0] == "line19"


def test_no_held_out_share_leaves_val_and_test_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.txt", "\n".join(LINES) + "\n")
    data = load(f"text:{path}", "lm", val_fraction=0, test_fraction=0)
    assert len(data.train) == 80 and data.val == [] and data.test == []
    assert set(data.files) == {"train"}


@pytest.mark.parametrize("val_name", ["valid.txt", "val.txt", "dev.txt"])
def test_a_folder_holds_train_valid_and_test(tmp_path: Path, val_name: str) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.txt", "the cat sat\non the mat\n")
    write(folder / val_name, "a dog\n")
    write(folder / "test.txt", "the end")
    data = load(f"text:{folder}", "lm")
    assert data.train == ["the", "cat", "sat", EOS, "on", "the", "mat", EOS]
    assert data.val == ["a", "dog", EOS]
    assert data.test == ["the", "end", EOS]
    assert Path(data.files["val"]).name == val_name


def test_a_folder_without_test_has_an_empty_test_split(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.txt", "the cat\n")
    write(folder / "valid.txt", "a dog\n")
    data = load(f"text:{folder}", "lm")
    assert data.test == [] and "test" not in data.files


def test_characters_keep_line_ends(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.txt", "ab c\n\nde\n" * 10)
    data = load(f"text:{path}", "lm", level="char", val_fraction=0.1, test_fraction=0.1)
    lines = ("ab c\n\nde\n" * 10).splitlines(keepends=True)  # 30 lines: 24 / 3 / 3
    assert data.train == list("".join(lines[:24]))
    assert data.val == list("".join(lines[24:27]))
    assert data.test == list("".join(lines[27:]))
    assert "\n" in data.train and EOS not in data.train
    assert data.level == "char" and data.eos is None
    assert "".join(data.train + data.val + data.test) == "ab c\n\nde\n" * 10


def test_a_folder_read_as_characters(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.txt", "hi\nyo\n")
    write(folder / "valid.txt", "ho\n")
    data = load(f"text:{folder}", "lm", level="char")
    assert data.train == ["h", "i", "\n", "y", "o", "\n"] and data.val == ["h", "o", "\n"]


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank-lines"])
def test_an_empty_file_names_the_file(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty.txt", content)
    with pytest.raises(DatasetFormatError, match="holds no text") as info:
        load(f"text:{path}", "lm")
    assert str(path) in str(info.value)


def test_an_empty_train_txt_in_a_folder_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.txt", "")
    write(folder / "valid.txt", "a dog\n")
    with pytest.raises(DatasetFormatError, match="holds no text") as info:
        load(f"text:{folder}", "lm")
    assert str(folder / "train.txt") in str(info.value)


def test_a_folder_without_train_txt_is_not_found(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "valid.txt", "a dog\n")
    with pytest.raises(DatasetNotFoundError, match=r"no train\.txt"):
        load(f"text:{folder}", "lm")


def test_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="no such file or folder") as info:
        load(f"text:{tmp_path / 'nowhere.txt'}", "lm")
    assert "nowhere.txt" in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"level": "byte"}, "level must be one of word, char"),
        ({"val_fraction": -0.1}, r"val_fraction must be in \[0, 1\)"),
        ({"test_fraction": 1.0}, r"test_fraction must be in \[0, 1\)"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "must be below 1"),
    ],
    ids=["level", "negative-val", "test-1", "sum-1"],
)
def test_bad_level_or_fractions_are_value_errors(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    path = write(tmp_path / "corpus.txt", "\n".join(LINES) + "\n")
    with pytest.raises(ValueError, match=message):
        load(f"text:{path}", "lm", **options)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.txt", "the cat\nsat on\nthe caf\xe9 mat\n".encode("latin-1"))
    with pytest.raises(DatasetFormatError, match="line 3: not UTF-8") as info:
        load(f"text:{path}", "lm")
    assert str(path) in str(info.value)


def test_a_non_utf8_valid_file_in_a_folder_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.txt", "the cat\n")
    write(folder / "valid.txt", b"\xff dog\n")
    with pytest.raises(DatasetFormatError, match="line 1: not UTF-8") as info:
        load(f"text:{folder}", "lm")
    assert "valid.txt" in str(info.value)


def test_an_unknown_option_of_text_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.txt", "the cat\n")
    with pytest.raises(ValueError, match="unknown option"):
        load(f"text:{path}", "lm", shuffle=True)
