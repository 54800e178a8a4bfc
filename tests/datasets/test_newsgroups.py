"""The 20 Newsgroups reader: scikit-learn's strip rules, the archive layout checks, the val
hold-out, and the counts of the real archive.

The real-data tests run when ``RNNKIT_DATA`` is set (CI sets it to ``../shared/data``); the
14 MB archive is read once per module.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from rnnkit.datasets import ClassificationData, DatasetFormatError, load
from rnnkit.datasets.newsgroups import (
    read_newsgroups,
    strip_footer,
    strip_header,
    strip_quotes,
)

needs_data = pytest.mark.skipif(
    not os.environ.get("RNNKIT_DATA"), reason="RNNKIT_DATA is not set (CI sets ../shared/data)"
)

ARCHIVE = "20news-bydate.tar.gz"
# shared/data/20newsgroups/SOURCE.md: group → (test, train)
GROUPS = {
    "alt.atheism": (319, 480),
    "comp.graphics": (389, 584),
    "comp.os.ms-windows.misc": (394, 591),
    "comp.sys.ibm.pc.hardware": (392, 590),
    "comp.sys.mac.hardware": (385, 578),
    "comp.windows.x": (395, 593),
    "misc.forsale": (390, 585),
    "rec.autos": (396, 594),
    "rec.motorcycles": (398, 598),
    "rec.sport.baseball": (397, 597),
    "rec.sport.hockey": (399, 600),
    "sci.crypt": (396, 595),
    "sci.electronics": (393, 591),
    "sci.med": (396, 594),
    "sci.space": (394, 593),
    "soc.religion.christian": (398, 599),
    "talk.politics.guns": (364, 546),
    "talk.politics.mideast": (376, 564),
    "talk.politics.misc": (310, 465),
    "talk.religion.misc": (251, 377),
}

HEADERS = (
    "From: alice@example.com (Alice)\n"
    "Subject: Re: Shuttle launch\n"
    "Organization: Example University\n"
    "Lines: 11\n"
)
BODY = (
    "In article <1993Apr1.123@nasa.gov> bob@nasa.gov (Bob) writes:\n"
    "> The launch was delayed again.\n"
    "|> An older quote.\n"
    "I think the delay was the weather.\n"
    "Carol said: it was the engines.\n"
    "It will fly next week.\n"
)
SIGNATURE = "-- \nAlice Example, Dept. of Physics\nalice@example.com\n"
POST = HEADERS + "\n" + BODY + "\n" + SIGNATURE


# --- the strip rules, on written posts ------------------------------------------------------


def test_strip_header_drops_everything_to_the_first_blank_line() -> None:
    assert strip_header(POST) == BODY + "\n" + SIGNATURE
    assert strip_header("Subject: no body at all\n") == ""


def test_strip_footer_drops_the_signature_after_the_last_separator() -> None:
    body = BODY + "\n" + SIGNATURE
    # the last line made of hyphens is "-- "; the blank line before it stays, like scikit-learn
    assert strip_footer(body) == BODY
    dashes = "Body text.\nMore text.\n------------------\nJ. Doe | Acme\n"
    assert strip_footer(dashes) == "Body text.\nMore text."


def test_strip_footer_without_a_separator_keeps_the_post() -> None:
    text = "One paragraph\nwithout a break.\n"
    assert strip_footer(text) == text
    text = "\n\nFirst line only is blank after strip()\nand more."
    assert strip_footer(text) == text


def test_strip_footer_cuts_at_the_last_blank_line_too() -> None:
    """scikit-learn's heuristic: a trailing paragraph counts as a signature."""
    assert strip_footer("Para one.\n\nPara two.\n\n") == "Para one."


def test_strip_quotes_drops_quoted_and_attribution_lines() -> None:
    assert strip_quotes(BODY) == "I think the delay was the weather.\nIt will fly next week.\n"
    kept = "He writes well.\nShe wrote it down.\nQuoted lines > here stay."
    assert strip_quotes(kept) == kept
    dropped = "Quoted from the FAQ\nJohn wrote: no\nMary writes in <x>\nok"
    assert strip_quotes(dropped) == "ok"


# --- the reader on a small archive ----------------------------------------------------------


def write_archive(
    folder: Path,
    *,
    trees: tuple[str, ...] = ("20news-bydate-train", "20news-bydate-test"),
    groups: list[str] | None = None,
    test_groups: list[str] | None = None,
    posts_per_group: int = 10,
) -> Path:
    """A bydate-shaped archive: ``posts_per_group`` posts per group in each tree."""
    groups = sorted(GROUPS) if groups is None else groups
    path = folder / ARCHIVE
    with tarfile.open(path, "w:gz") as archive:
        for tree in trees:
            tree_groups = test_groups if tree.endswith("test") and test_groups else groups
            for group in tree_groups:
                directory = tarfile.TarInfo(f"{tree}/{group}")
                directory.type = tarfile.DIRTYPE
                archive.addfile(directory)
                for i in range(posts_per_group):
                    text = POST.replace("Shuttle", f"{group} {i} caf\xe9")
                    data = text.encode("latin-1")
                    info = tarfile.TarInfo(f"{tree}/{group}/{50000 + i}")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    return path


def test_reader_labels_order_and_latin1(tmp_path: Path) -> None:
    write_archive(tmp_path)
    data = read_newsgroups(tmp_path, val_fraction=0.0)
    assert data.labels == sorted(GROUPS) and data.name == "20newsgroups"
    assert (len(data.train), len(data.val), len(data.test)) == (200, 0, 200)
    assert [e.label for e in data.test] == sorted(e.label for e in data.test)
    assert data.test[0].text == POST.replace("Shuttle", "alt.atheism 0 café")
    assert data.train[-1].text == POST.replace("Shuttle", "talk.religion.misc 9 café")


def test_reader_holds_out_a_stratified_seeded_val(tmp_path: Path) -> None:
    write_archive(tmp_path)
    data = read_newsgroups(tmp_path, val_fraction=0.2, seed=5)
    assert (len(data.train), len(data.val), len(data.test)) == (160, 40, 200)
    assert set(Counter(e.label for e in data.val).values()) == {2}
    again = read_newsgroups(tmp_path, val_fraction=0.2, seed=5)
    other = read_newsgroups(tmp_path, val_fraction=0.2, seed=6)
    assert again.val == data.val and again.train == data.train
    assert {e.text for e in other.val} != {e.text for e in data.val}
    assert not {e.text for e in data.val} & {e.text for e in data.train}


def test_reader_applies_remove_in_order(tmp_path: Path) -> None:
    write_archive(tmp_path)
    data = read_newsgroups(tmp_path, remove=("headers", "footers", "quotes"), val_fraction=0.0)
    assert data.test[0].text == "I think the delay was the weather.\nIt will fly next week.\n"
    only_headers = read_newsgroups(tmp_path, remove=("headers",), val_fraction=0.0)
    assert only_headers.test[0].text == BODY + "\n" + SIGNATURE


def test_reader_rejects_unknown_remove(tmp_path: Path) -> None:
    write_archive(tmp_path, posts_per_group=1)
    with pytest.raises(ValueError, match="remove must be"):
        read_newsgroups(tmp_path, remove=("signatures",))
    with pytest.raises(ValueError, match="remove must be"):
        read_newsgroups(tmp_path, remove="headers")


def test_missing_test_tree_names_the_archive(tmp_path: Path) -> None:
    path = write_archive(tmp_path, trees=("20news-bydate-train",), posts_per_group=1)
    with pytest.raises(DatasetFormatError, match="no posts under 20news-bydate-test/") as info:
        read_newsgroups(tmp_path)
    assert str(path) in str(info.value)


def test_missing_group_folder_names_the_group(tmp_path: Path) -> None:
    groups = sorted(GROUPS)
    path = write_archive(tmp_path, test_groups=groups[:-1], posts_per_group=1)
    with pytest.raises(DatasetFormatError, match="20news-bydate-test/ lacks") as info:
        read_newsgroups(tmp_path)
    assert str(path) in str(info.value) and "talk.religion.misc" in str(info.value)


def test_wrong_number_of_groups_is_named(tmp_path: Path) -> None:
    write_archive(tmp_path, groups=sorted(GROUPS)[:5], posts_per_group=1)
    with pytest.raises(DatasetFormatError, match=r"5 group folders .* expected 20"):
        read_newsgroups(tmp_path)


def test_not_a_tar_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ARCHIVE).write_bytes(b"not gzip at all")
    with pytest.raises(DatasetFormatError, match=r"not a readable \.tar\.gz") as info:
        read_newsgroups(tmp_path)
    assert str(tmp_path / ARCHIVE) in str(info.value)


# --- the real archive -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def newsgroups() -> ClassificationData:
    return load("20newsgroups", download=False)


@needs_data
def test_real_counts(newsgroups: ClassificationData) -> None:
    assert newsgroups.labels == sorted(GROUPS)
    assert len(newsgroups.train) + len(newsgroups.val) == 11_314
    assert len(newsgroups.test) == 7_532
    counts = newsgroups.counts()
    for group, (n_test, n_train) in GROUPS.items():
        assert counts["test"][group] == n_test, group
        assert counts["train"][group] + counts["val"][group] == n_train, group
        assert abs(counts["val"][group] - 0.1 * n_train) <= 1, group


@needs_data
def test_real_test_split_is_in_archive_order(newsgroups: ClassificationData) -> None:
    labels = [e.label for e in newsgroups.test]
    assert labels == sorted(labels)
    assert newsgroups.test[0].text.startswith("From: ")


@needs_data
def test_real_posts_are_latin1_with_headers(newsgroups: ClassificationData) -> None:
    texts = [e.text for e in newsgroups.train + newsgroups.val + newsgroups.test]
    assert sum("\nSubject: " in t or t.startswith("Subject: ") for t in texts) > 18_000
    non_ascii = [t for t in texts if not t.isascii()]
    assert non_ascii, "the 73 posts with non-UTF-8 bytes must decode, not vanish"
    stripped = [strip_header(t) for t in texts[:500]]
    assert not any(s.startswith("From: ") for s in stripped)
