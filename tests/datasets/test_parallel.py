"""Parallel data for seq2seq: Multi30k (both directions, its published counts, its registry entry)
and the user's own pairs (``parallel:FOLDER``, ``pairs:PATH``), whose every bad input is one
clear error naming the file and the line.

The real-data tests run when ``RNNKIT_DATA`` holds ``multi30k/`` (CI sets it to
``../shared/data``); everything else builds tiny files in ``tmp_path``.
"""

from __future__ import annotations

import doctest
import gzip
import hashlib
import json
import math
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rnnkit.datasets import (
    DatasetFormatError,
    DatasetNotFoundError,
    Pair,
    ParallelData,
    available,
    base,
    load,
    parallel,
    read_multi30k,
    read_pairs,
    read_parallel,
)
from rnnkit.datasets.parallel import MULTI30K_COMMIT, read_lines
from rnnkit.datasets.registry import REGISTRY, RemoteFile
from rnnkit.datasets.spec import TASK_CONTAINERS


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


# --- Multi30k ---------------------------------------------------------------------------------

SOURCE_SHA256 = {  # /work/shared/data/multi30k/SOURCE.md
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
}
COUNTS = {"train": 29_000, "val": 1_014, "test": 1_000}


@cache
def _multi30k(src: str, tgt: str) -> ParallelData:
    return load("multi30k", "seq2seq", download=False, src=src, tgt=tgt)


def multi30k(src: str = "de", tgt: str = "en") -> ParallelData:
    data_folder("multi30k")
    return _multi30k(src, tgt)


def first_line(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return lines.readline().rstrip("\n")


def test_multi30k_has_the_published_counts() -> None:
    data = multi30k()
    assert data.counts() == COUNTS
    assert (data.src, data.tgt, data.name) == ("de", "en", "multi30k")
    assert {split: tuple(Path(f).name for f in files) for split, files in data.files.items()} == {
        "train": ("train.de.gz", "train.en.gz"),
        "val": ("val.de.gz", "val.en.gz"),
        "test": ("test_2016_flickr.de.gz", "test_2016_flickr.en.gz"),
    }


def test_multi30k_first_training_pair_is_the_first_lines_of_the_files() -> None:
    folder = data_folder("multi30k")
    first = multi30k().train[0]
    assert first == Pair(first_line(folder / "train.de.gz"), first_line(folder / "train.en.gz"))
    assert first.target == "Two young, White males are outside near many bushes."


def test_multi30k_en_de_swaps_every_pair() -> None:
    de_en, en_de = multi30k("de", "en"), multi30k("en", "de")
    assert (en_de.src, en_de.tgt) == ("en", "de")
    for split in ("train", "val", "test"):
        swapped = [Pair(pair.target, pair.source) for pair in de_en.split(split)]
        assert en_de.split(split) == swapped, split
        assert en_de.files[split] == de_en.files[split][::-1]


def test_multi30k_sides_are_stripped_and_never_empty() -> None:
    for pairs in (multi30k().train, multi30k().val, multi30k().test):
        for pair in pairs:
            assert pair.source and pair.source == pair.source.strip()
            assert pair.target and pair.target == pair.target.strip()


def test_multi30k_summary_counts_pairs_and_words() -> None:
    lines = multi30k().summary().splitlines()
    assert lines[0] == "multi30k: de -> en"
    train = "train 29,000 pairs 322,383 de words 345,020 en words"  # SOURCE.md's counts
    assert lines[1].split() == train.split()
    assert [line.split()[:2] for line in lines[2:]] == [["val", "1,014"], ["test", "1,000"]]


@pytest.mark.parametrize(
    ("src", "tgt"), [("fr", "en"), ("de", "cs"), ("de", "de"), ("en", "en")], ids=str
)
def test_an_unknown_direction_names_the_choices(tmp_path: Path, src: str, tgt: str) -> None:
    with pytest.raises(ValueError, match="unknown direction") as info:
        read_multi30k(tmp_path, src=src, tgt=tgt)  # checked before any file is read
    message = str(info.value)
    assert "\n" not in message and "de -> en" in message and "en -> de" in message
    assert repr(src) in message and repr(tgt) in message


def test_multi30k_asked_for_classification_says_which_task_to_ask_for() -> None:
    with pytest.raises(ValueError, match="`rnnkit train seq2seq`") as info:
        load("multi30k", download=False)
    assert "'seq2seq'" in str(info.value) and "ParallelData" in str(info.value)


def test_multi30k_is_registered_with_its_official_files_and_checksums() -> None:
    spec = REGISTRY["multi30k"]
    assert spec.task == "seq2seq" and spec.folder == "multi30k" and spec.reader is read_multi30k
    raw = f"https://raw.githubusercontent.com/multi30k/dataset/{MULTI30K_COMMIT}/data/task1/raw/"
    assert set(spec.files) == {RemoteFile(f, raw + f, sha) for f, sha in SOURCE_SHA256.items()}
    assert len(spec.files) == 6
    assert spec.options() == ["src", "tgt"]
    assert "Elliott" in spec.citation and "no data license" in spec.license
    assert spec.homepage == "https://github.com/multi30k/dataset"
    assert TASK_CONTAINERS["seq2seq"] is ParallelData


def test_the_files_in_rnnkit_data_match_the_recorded_checksums() -> None:
    folder = data_folder("multi30k")
    for remote in REGISTRY["multi30k"].files:
        digest = hashlib.sha256((folder / remote.relative_path).read_bytes()).hexdigest()
        assert digest == remote.sha256, remote.relative_path


def test_available_and_the_cli_list_multi30k_as_seq2seq(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rnnkit.cli.main import main

    rows = {row["name"]: row for row in available()}
    assert rows["multi30k"]["task"] == "seq2seq"
    assert rows["multi30k"]["options"] == ["src", "tgt"]
    capsys.readouterr()
    assert main(["datasets"]) == 0
    table = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]
             if line.strip()}  # fmt: skip
    assert table["multi30k"] == "seq2seq"
    assert main(["datasets", "--json"]) == 0
    listed = {d["name"]: d for d in json.loads(capsys.readouterr().out)["datasets"]}
    assert listed["multi30k"]["task"] == "seq2seq"


# --- the user's line-aligned files ------------------------------------------------------------


def write(path: Path, content: str | bytes, *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def lines_of(sentences: list[str]) -> str:
    return "".join(f"{sentence}\n" for sentence in sentences)


DE = [f"satz {i} auf deutsch" for i in range(40)]
EN = [f"sentence {i} in english" for i in range(40)]


def parallel_folder(root: Path, *, gz: bool = False, splits: tuple[str, ...] = ("train",)) -> Path:
    """``root/corpus`` with ``train.{de,en}`` of 40 lines (and 2-line ``val``/``test`` files
    for the other ``splits`` named), gzipped with a ``.gz`` name if ``gz``."""
    folder = root / "corpus"
    suffix = ".gz" if gz else ""
    write(folder / f"train.de{suffix}", lines_of(DE), gz=gz)
    write(folder / f"train.en{suffix}", lines_of(EN), gz=gz)
    for split in splits:
        if split != "train":
            write(folder / f"{split}.de{suffix}", lines_of([f"{split} a", f"{split} b"]), gz=gz)
            write(folder / f"{split}.en{suffix}", lines_of([f"{split} A", f"{split} B"]), gz=gz)
    return folder


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_parallel_files_per_split_are_read_in_order(tmp_path: Path, gz: bool) -> None:
    folder = parallel_folder(tmp_path, gz=gz, splits=("train", "val", "test"))
    data = read_parallel(folder, src="de", tgt="en")
    assert data.train == [Pair(de, en) for de, en in zip(DE, EN, strict=True)]
    assert data.val == [Pair("val a", "val A"), Pair("val b", "val B")]
    assert data.test == [Pair("test a", "test A"), Pair("test b", "test B")]
    suffix = ".gz" if gz else ""
    assert data.files["val"] == (str(folder / f"val.de{suffix}"), str(folder / f"val.en{suffix}"))
    assert (data.src, data.tgt, data.name) == ("de", "en", f"parallel:{folder}")


def test_parallel_in_the_other_direction_swaps_the_sides(tmp_path: Path) -> None:
    folder = parallel_folder(tmp_path, splits=("train", "val", "test"))
    de_en = read_parallel(folder, src="de", tgt="en")
    en_de = read_parallel(folder, src="en", tgt="de")
    assert en_de.train == [Pair(p.target, p.source) for p in de_en.train]
    assert (en_de.src, en_de.tgt) == ("en", "de")


@pytest.mark.parametrize("stem", ["val", "valid", "dev"])
def test_parallel_val_files_may_be_named_val_valid_or_dev(tmp_path: Path, stem: str) -> None:
    folder = parallel_folder(tmp_path, splits=("train", stem, "test"))
    data = read_parallel(folder, src="de", tgt="en")
    assert data.val == [Pair(f"{stem} a", f"{stem} A"), Pair(f"{stem} b", f"{stem} B")]
    assert len(data.train) == 40


def test_parallel_sides_may_mix_plain_and_gz(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write(folder / "train.de", lines_of(DE))
    write(folder / "train.en.gz", lines_of(EN), gz=True)
    data = read_parallel(folder, src="de", tgt="en", val_fraction=0, test_fraction=0)
    assert data.train[3] == Pair(DE[3], EN[3])
    assert data.files == {"train": (str(folder / "train.de"), str(folder / "train.en.gz"))}


def test_lines_end_at_newline_only_and_are_stripped(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    # a BOM, CRLF ends, surrounding spaces and tabs, a U+2028 and a form feed inside a sentence,
    # no final line end: still two lines per side
    write(folder / "train.de", "\ufeff  ein Hund\t\r\nzwei\u2028Katzen\x0cda ")
    write(folder / "train.en", "a dog\ntwo cats\n")
    data = read_parallel(folder, src="de", tgt="en", val_fraction=0, test_fraction=0)
    assert data.train == [Pair("ein Hund", "a dog"), Pair("zwei\u2028Katzen\x0cda", "two cats")]
    assert data.val == [] and data.test == [] and set(data.files) == {"train"}


def test_missing_splits_are_cut_from_train_disjoint_covering_and_seeded(tmp_path: Path) -> None:
    folder = parallel_folder(tmp_path)
    data = read_parallel(folder, src="de", tgt="en", val_fraction=0.1, test_fraction=0.2)
    everything = [Pair(de, en) for de, en in zip(DE, EN, strict=True)]
    assert data.counts() == {"train": 28, "val": 4, "test": 8}
    assert sorted(data.train + data.val + data.test, key=everything.index) == everything
    assert len({*data.train, *data.val, *data.test}) == 40
    for part in (data.train, data.val, data.test):  # each split keeps the file's order
        assert part == sorted(part, key=everything.index)
    assert data.val != everything[28:32]  # drawn at random, not the tail
    again = read_parallel(folder, src="de", tgt="en", val_fraction=0.1, test_fraction=0.2)
    assert (again.train, again.val, again.test) == (data.train, data.val, data.test)
    other = read_parallel(folder, src="de", tgt="en", val_fraction=0.1, test_fraction=0.2, seed=1)
    assert other.val != data.val
    train_files = (str(folder / "train.de"), str(folder / "train.en"))
    assert data.files == {"train": train_files, "val": train_files, "test": train_files}


def test_a_split_with_files_is_not_cut_from_train(tmp_path: Path) -> None:
    folder = parallel_folder(tmp_path, splits=("train", "val"))
    data = read_parallel(folder, src="de", tgt="en", val_fraction=0.5, test_fraction=0.25)
    assert data.val == [Pair("val a", "val A"), Pair("val b", "val B")]
    assert data.counts() == {"train": 30, "val": 2, "test": 10}
    assert data.files["val"] == (str(folder / "val.de"), str(folder / "val.en"))
    assert data.files["test"] == data.files["train"]


def test_zero_fractions_leave_the_missing_splits_empty(tmp_path: Path) -> None:
    data = read_parallel(
        parallel_folder(tmp_path), src="de", tgt="en", val_fraction=0, test_fraction=0
    )
    assert data.counts() == {"train": 40, "val": 0, "test": 0}
    assert set(data.files) == {"train"}


def test_load_parallel_through_the_registry(tmp_path: Path) -> None:
    folder = parallel_folder(tmp_path, splits=("train", "val", "test"))
    data = load(f"parallel:{folder}", "seq2seq", src="en", tgt="de")
    assert isinstance(data, ParallelData) and data.train[0] == Pair(EN[0], DE[0])
    with pytest.raises(ValueError, match="`rnnkit train seq2seq`"):
        load(f"parallel:{folder}", src="de", tgt="en")
    with pytest.raises(ValueError, match="unknown option"):
        load(f"parallel:{folder}", "seq2seq", src="de", tgt="en", shuffle=True)


def test_parallel_without_src_and_tgt_lists_the_languages_found(tmp_path: Path) -> None:
    folder = parallel_folder(tmp_path)
    write(folder / "train.fr.gz", lines_of(DE), gz=True)
    with pytest.raises(ValueError, match="give src and tgt") as info:
        load(f"parallel:{folder}", "seq2seq", src="de")
    assert "de, en, fr" in str(info.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"src": "de", "tgt": "de"}, "src and tgt must differ"),
        ({"src": "../de", "tgt": "en"}, "src must be a file suffix"),
        ({"src": "de", "tgt": ""}, "tgt must be a file suffix"),
    ],
    ids=["same", "path", "empty"],
)
def test_bad_languages_are_value_errors(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        read_parallel(parallel_folder(tmp_path), **options)


# --- the user's TSV of pairs ------------------------------------------------------------------

TSV = "".join(f"{de}\t{en}\n" for de, en in zip(DE, EN, strict=True))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_one_tsv_file_is_cut_into_three_splits(tmp_path: Path, gz: bool) -> None:
    path = write(tmp_path / ("pairs.tsv.gz" if gz else "pairs.tsv"), TSV, gz=gz)
    data = read_pairs(path, val_fraction=0.25, test_fraction=0.1, seed=3)
    everything = [Pair(de, en) for de, en in zip(DE, EN, strict=True)]
    assert data.counts() == {"train": 26, "val": 10, "test": 4}
    assert sorted(data.train + data.val + data.test, key=everything.index) == everything
    assert (data.src, data.tgt, data.name) == ("src", "tgt", f"pairs:{path}")
    assert data.files == {split: (str(path), str(path)) for split in ("train", "val", "test")}
    assert read_pairs(path, val_fraction=0.25, test_fraction=0.1, seed=3) == data


def test_tsv_default_fractions_hold_out_five_percent_each(tmp_path: Path) -> None:
    data = read_pairs(write(tmp_path / "pairs.tsv", TSV))
    assert data.counts() == {"train": 36, "val": 2, "test": 2}


def test_a_tsv_folder_holds_train_val_and_test(tmp_path: Path) -> None:
    folder = tmp_path / "tsv"
    write(folder / "train.tsv", TSV)
    write(folder / "dev.tsv", " ein Hund \t a dog\r\n")
    write(folder / "test.tsv.gz", "eine Katze\ta cat", gz=True)
    data = read_pairs(folder)
    assert len(data.train) == 40 and data.train[0] == Pair(DE[0], EN[0])
    assert data.val == [Pair("ein Hund", "a dog")]
    assert data.test == [Pair("eine Katze", "a cat")]
    assert data.files["test"] == (str(folder / "test.tsv.gz"),) * 2


def test_a_tsv_folder_without_test_cuts_it_from_train(tmp_path: Path) -> None:
    folder = tmp_path / "tsv"
    write(folder / "train.tsv", TSV)
    write(folder / "val.tsv", "ein Hund\ta dog\n")
    data = read_pairs(folder, test_fraction=0.25)
    assert data.counts() == {"train": 30, "val": 1, "test": 10}


def test_load_pairs_through_the_registry(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.tsv", TSV)
    data = load(f"pairs:{path}", "seq2seq", val_fraction=0.1, test_fraction=0.1, seed=0)
    assert isinstance(data, ParallelData) and data.counts()["train"] == 32
    with pytest.raises(ValueError, match="`rnnkit train seq2seq`") as info:
        load(f"pairs:{path}")
    assert "load(" in str(info.value) and "'seq2seq'" in str(info.value)


# --- bad input --------------------------------------------------------------------------------


def test_sides_of_different_lengths_name_both_files_and_counts(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    de = write(folder / "train.de", lines_of(DE))
    en = write(folder / "train.en.gz", lines_of(EN[:37]), gz=True)
    with pytest.raises(DatasetFormatError) as info:
        read_parallel(folder, src="de", tgt="en")
    message = str(info.value)
    assert f"{de} has 40 lines but {en} has 37" in message
    assert "line-aligned files must have the same number of lines" in message
    assert "\n" not in message


def test_a_trailing_blank_line_is_named_as_the_likely_cause(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.de", lines_of(DE))
    en = write(folder / "train.en", lines_of(EN) + "\n")
    with pytest.raises(DatasetFormatError, match=r"40 lines but .* has 41") as info:
        read_parallel(folder, src="de", tgt="en")
    assert f"the last 1 line(s) of {en} are empty" in str(info.value)


LONG = "ein sehr langer Satz, der weit über sechzig Zeichen hinausgeht und dann noch weiter"


@pytest.mark.parametrize("blank", ["", "  \t "], ids=["empty", "whitespace"])
@pytest.mark.parametrize("side", ["source", "target"])
def test_an_empty_line_names_the_file_the_line_and_the_other_side(
    tmp_path: Path, side: str, blank: str
) -> None:
    folder = tmp_path / "corpus"
    de, en = list(DE), list(EN)
    de[6] = LONG
    (en if side == "source" else de)[6] = blank  # the English side is the source here
    en_path = write(folder / "train.en", lines_of(en))
    de_path = write(folder / "train.de.gz", lines_of(de), gz=True)
    with pytest.raises(DatasetFormatError) as info:
        read_parallel(folder, src="en", tgt="de")
    message = str(info.value)
    bad, other = (en_path, de_path) if side == "source" else (de_path, en_path)
    assert message.startswith(f"{bad}: line 7: an empty line")
    assert f"line 7 of {other} reads" in message
    shown = LONG if side == "source" else EN[6]
    if side == "source":
        assert repr(LONG[:59] + "…") in message and LONG not in message  # cut to 60 characters
    else:
        assert repr(shown) in message


def test_an_empty_line_on_both_sides_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.de", "ein Hund\n\n")
    write(folder / "train.en", "a dog\n\n")
    with pytest.raises(DatasetFormatError, match=r"line 2: an empty line, .* is empty too"):
        read_parallel(folder, src="de", tgt="en")


def test_empty_files_are_format_errors(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "train.de", "")
    write(folder / "train.en", "")
    with pytest.raises(DatasetFormatError, match="are empty; expected one sentence per line"):
        read_parallel(folder, src="de", tgt="en")


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_text_that_is_not_utf8_names_the_file_and_line(tmp_path: Path, gz: bool) -> None:
    folder = tmp_path / "corpus"
    suffix = ".gz" if gz else ""
    write(folder / "train.en", "a dog\na cafe\nthe end\n")
    bad = write(
        folder / f"train.de{suffix}", "ein Hund\nein Caf\xe9\nEnde\n".encode("latin-1"), gz=gz
    )
    with pytest.raises(DatasetFormatError, match="line 2: not UTF-8") as info:
        read_parallel(folder, src="de", tgt="en")
    assert str(info.value).startswith(str(bad))


def test_a_corrupt_gzip_file_names_the_file_and_the_last_line_read(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "corpus"
    many = [f"satz {i} " + "wort " * (i % 17) for i in range(20_000)]
    whole = gzip.compress(lines_of(many).encode(), mtime=0)
    bad = write(folder / "train.de.gz", whole[: len(whole) // 2])  # truncated
    write(folder / "train.en", lines_of(many))
    with pytest.raises(DatasetFormatError, match="not a readable gzip file") as info:
        read_parallel(folder, src="de", tgt="en")
    message = str(info.value)
    assert message.startswith(f"{bad}:") and "readable up to line" in message


def test_a_gz_name_without_gzip_data_is_a_format_error(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    bad = write(folder / "train.de.gz", lines_of(DE))  # plain text under a .gz name
    write(folder / "train.en", lines_of(EN))
    with pytest.raises(DatasetFormatError, match="not a readable gzip file") as info:
        read_parallel(folder, src="de", tgt="en")
    assert str(bad) in str(info.value)


def test_gzip_data_without_a_gz_name_is_gunzipped(tmp_path: Path) -> None:
    path = write(tmp_path / "train.de", "ein Hund\n", gz=True)
    assert read_lines(path) == ["ein Hund"]


def test_missing_training_files_name_the_paths_expected(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write(folder / "val.de", "ein Hund\n")
    write(folder / "val.en", "a dog\n")
    with pytest.raises(DatasetNotFoundError, match="no training files") as info:
        read_parallel(folder, src="de", tgt="en")
    assert str(folder / "train.de") in str(info.value)
    assert str(folder / "train.en") in str(info.value)


def test_a_file_without_its_other_side_names_what_is_missing(tmp_path: Path) -> None:
    folder = parallel_folder(tmp_path)
    write(folder / "test.en", "a dog\n")
    with pytest.raises(DatasetNotFoundError, match="has no other side") as info:
        read_parallel(folder, src="de", tgt="en")
    assert str(folder / "test.en") in str(info.value)
    assert str(folder / "test.de") in str(info.value)


def test_a_missing_folder_or_a_file_given_as_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="no such folder"):
        read_parallel(tmp_path / "nowhere", src="de", tgt="en")
    path = write(tmp_path / "pairs.tsv", TSV)
    with pytest.raises(DatasetFormatError, match="pairs:"):
        read_parallel(path, src="de", tgt="en")


FRACTIONS = [
    ({"val_fraction": -0.1}, r"val_fraction must be in \[0, 1\)"),
    ({"test_fraction": 1.0}, r"test_fraction must be in \[0, 1\)"),
    ({"val_fraction": math.nan}, r"val_fraction must be in \[0, 1\)"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction \\+ test_fraction must be below 1"),
]
FRACTION_IDS = ["negative", "one", "nan", "sum-one"]


@pytest.mark.parametrize(("options", "message"), FRACTIONS, ids=FRACTION_IDS)
def test_bad_fractions_are_value_errors(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        read_parallel(parallel_folder(tmp_path), src="de", tgt="en", **options)
    with pytest.raises(ValueError, match=message):
        read_pairs(write(tmp_path / "pairs.tsv", TSV), **options)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ein Hund a dog", "line 3: no tabs; expected source<TAB>target, exactly one tab"),
        ("ein\tHund\ta dog", "line 3: 2 tabs; expected source<TAB>target"),
        ("", "line 3: an empty line; expected source<TAB>target"),
        ("  \ta dog", "line 3: the source is empty \\(the other side reads 'a dog'\\)"),
        ("ein Hund\t ", "line 3: the target is empty \\(the other side reads 'ein Hund'\\)"),
    ],
    ids=["no-tab", "two-tabs", "empty-line", "empty-source", "empty-target"],
)
def test_a_bad_tsv_line_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "pairs.tsv", f"a\tb\nc\td\n{line}\ne\tf\n")
    with pytest.raises(DatasetFormatError, match=message) as info:
        read_pairs(path)
    assert str(info.value).startswith(f"{path}: line 3:")


def test_an_empty_tsv_and_a_folder_without_train_tsv(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.tsv", "")
    with pytest.raises(DatasetFormatError, match="is empty"):
        read_pairs(empty)
    folder = tmp_path / "tsv"
    write(folder / "val.tsv", "a\tb\n")
    with pytest.raises(DatasetNotFoundError, match=r"train\.tsv") as info:
        load(f"pairs:{folder}", "seq2seq")
    assert str(folder / "train.tsv") in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="no such file or folder"):
        read_pairs(tmp_path / "nowhere.tsv")


# --- the container ----------------------------------------------------------------------------


def test_parallel_data_refuses_an_empty_train_split_naming_its_files() -> None:
    with pytest.raises(ValueError, match=r"train\.de and train\.en hold no sentence pairs"):
        ParallelData([], [], [], src="de", tgt="en", files={"train": ("train.de", "train.en")})
    with pytest.raises(ValueError, match=r"p\.tsv holds no sentence pairs"):
        ParallelData([], [], [], files={"train": ("p.tsv", "p.tsv")})


def test_parallel_data_refuses_one_language_on_both_sides() -> None:
    with pytest.raises(ValueError, match="src and tgt must be two different languages"):
        ParallelData([Pair("a", "b")], [], [], src="en", tgt="en")


def test_parallel_data_counts_and_summary() -> None:
    data = ParallelData(
        [Pair("ein Hund", "a dog"), Pair("zwei Katzen hier", "two cats")], [Pair("x", "y")], [],
        src="de", tgt="en", name="toy",
    )  # fmt: skip
    assert data.counts() == {"train": 2, "val": 1, "test": 0}
    assert data.split("val") == [Pair("x", "y")]
    lines = data.summary().splitlines()
    assert lines[0] == "toy: de -> en"
    assert lines[1].split() == ["train", "2", "pairs", "5", "de", "words", "4", "en", "words"]
    assert lines[3].split()[:3] == ["test", "0", "pairs"]


@pytest.mark.parametrize("module", [parallel, base], ids=lambda m: m.__name__)
def test_docstring_examples_pass(module: Any) -> None:
    result = doctest.testmod(module, verbose=False, report=False)
    assert result.attempted > 0 and result.failed == 0
