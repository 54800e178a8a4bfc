"""Tag schemes: checking, conlleval's decoding, conversion round trips (hand-written and on every
sentence of CoNLL-2003), and the transition constraints checked by brute force.

The real-data tests run when ``RNNKIT_DATA`` is set (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import doctest
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

import rnnkit.text.tags
from rnnkit.text.tags import (
    SCHEME_PREFIXES,
    SCHEMES,
    allowed_transitions,
    check_tags,
    convert,
    spans,
)

needs_data = pytest.mark.skipif(
    not os.environ.get("RNNKIT_DATA"), reason="RNNKIT_DATA is not set (CI sets ../shared/data)"
)

# eng.train takes about ten seconds on a busy machine
CONLL_FILES = (pytest.param("eng.train", marks=pytest.mark.slow), "eng.testa", "eng.testb")


def read_conll_tags(path: Path) -> list[list[str]]:
    """The NER column of a CoNLL-2003 file, one list per sentence, ``-DOCSTART-`` skipped.
    (A stand-in until the dataset reader lands.)"""
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        current.append(line.split()[-1])
    if current:
        sentences.append(current)
    return sentences


def conll_path(name: str) -> Path:
    return Path(os.environ["RNNKIT_DATA"]) / "conll2003" / name


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.text.tags, report=False)
    assert result.attempted > 0 and result.failed == 0


# --- check_tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "scheme"),
    [
        (["O", "I-PER", "B-PER", "I-LOC-X"], "iob1"),
        (["B-PER", "I-PER", "O"], "iob2"),
        (["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"], "bioes"),
        ([], "bioes"),
    ],
)
def test_check_tags_accepts_the_schemes_prefixes(tags: list[str], scheme: str) -> None:
    check_tags(tags, scheme)


@pytest.mark.parametrize(
    ("tag", "scheme"),
    [("E-PER", "iob2"), ("S-PER", "iob1"), ("B-", "iob2"), ("PER", "bioes"), ("b-PER", "iob2")],
)
def test_check_tags_names_where_the_tag_and_the_prefixes(tag: str, scheme: str) -> None:
    prefixes = ", ".join(SCHEME_PREFIXES[scheme])
    with pytest.raises(ValueError, match=rf"^decoder: tag '{tag}' at position 1 .*\({prefixes}\)"):
        check_tags(["O", tag], scheme, where="decoder")


def test_check_tags_rejects_an_unknown_scheme_and_lists_the_schemes() -> None:
    with pytest.raises(ValueError, match=r"^tags: unknown tag scheme 'bio'.*iob1, iob2, bioes"):
        check_tags(["O"], "bio")


def test_check_tags_rejects_a_string_for_a_sentence() -> None:
    with pytest.raises(ValueError, match="sequence of str, got the str 'B-PER'"):
        check_tags("B-PER", "iob2")


# --- spans: conlleval's decoding --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "scheme", "expected"),
    [
        # IOB1: I- opens an entity after O; B- only splits two entities of the same type
        (
            ["I-PER", "I-PER", "B-PER", "O", "I-LOC"],
            "iob1",
            [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)],
        ),
        # a type change inside I- tags ends one entity and starts the next
        (["I-PER", "I-LOC", "I-LOC"], "iob1", [("PER", 0, 1), ("LOC", 1, 3)]),
        (["B-PER", "I-PER", "O", "B-LOC"], "iob2", [("PER", 0, 2), ("LOC", 3, 4)]),
        # stray I- in IOB2: conlleval opens an entity (after O, and on a type change)
        (
            ["O", "I-PER", "I-PER", "B-LOC", "I-ORG"],
            "iob2",
            [("PER", 1, 3), ("LOC", 3, 4), ("ORG", 4, 5)],
        ),
        (["B-PER", "B-PER"], "iob2", [("PER", 0, 1), ("PER", 1, 2)]),
        # entity at the sentence end
        (["O", "B-MISC", "I-MISC"], "iob2", [("MISC", 1, 3)]),
        (
            ["S-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "O"],
            "bioes",
            [("PER", 0, 1), ("PER", 1, 2), ("LOC", 2, 5)],
        ),
        # malformed BIOES: an unclosed B, an E without B, E E
        (["B-PER", "O", "E-LOC", "E-LOC"], "bioes", [("PER", 0, 1), ("LOC", 2, 3), ("LOC", 3, 4)]),
        (["B-A-B", "I-A-B"], "iob2", [("A-B", 0, 2)]),  # types may hold hyphens
        (["O", "O"], "iob2", []),
        ([], "iob1", []),
    ],
)
def test_spans_decode_as_conlleval(
    tags: list[str], scheme: str, expected: list[tuple[str, int, int]]
) -> None:
    assert spans(tags, scheme) == expected


def test_spans_check_the_tags() -> None:
    with pytest.raises(ValueError, match=r"^spans: tag 'E-PER' at position 0"):
        spans(["E-PER"], "iob2")


# --- convert ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iob1", "iob2", "bioes"),
    [
        (
            ["I-PER", "I-PER", "O", "I-LOC"],
            ["B-PER", "I-PER", "O", "B-LOC"],
            ["B-PER", "E-PER", "O", "S-LOC"],
        ),
        (["I-PER", "B-PER", "I-PER"], ["B-PER", "B-PER", "I-PER"], ["S-PER", "B-PER", "E-PER"]),
        (["I-PER", "B-PER", "B-PER"], ["B-PER", "B-PER", "B-PER"], ["S-PER", "S-PER", "S-PER"]),
        (["I-PER", "I-LOC", "O"], ["B-PER", "B-LOC", "O"], ["S-PER", "S-LOC", "O"]),
        (["I-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "E-ORG"]),
        (["O"], ["O"], ["O"]),
        ([], [], []),
    ],
)
def test_convert_between_every_pair_of_schemes(
    iob1: list[str], iob2: list[str], bioes: list[str]
) -> None:
    forms = {"iob1": iob1, "iob2": iob2, "bioes": bioes}
    for source, target in itertools.product(SCHEMES, SCHEMES):
        assert convert(forms[source], source, target) == forms[target], (source, target)


def test_convert_makes_malformed_input_well_formed() -> None:
    # IOB1 with B- after O (not after the same type): the entity is I- in IOB1
    assert convert(["O", "B-PER", "I-PER"], "iob1", "iob1") == ["O", "I-PER", "I-PER"]
    # stray I- in IOB2 opens an entity, as conlleval reads it
    assert convert(["O", "I-PER", "B-LOC", "I-ORG"], "iob2", "iob2") == [
        "O",
        "B-PER",
        "B-LOC",
        "B-ORG",
    ]
    assert convert(["B-PER", "O", "I-LOC"], "bioes", "bioes") == ["S-PER", "O", "S-LOC"]


def test_convert_checks_both_schemes() -> None:
    with pytest.raises(ValueError, match=r"^convert: tag 'S-PER'"):
        convert(["S-PER"], "iob2", "bioes")
    with pytest.raises(ValueError, match=r"^convert: unknown tag scheme 'bilou'"):
        convert(["B-PER"], "iob2", "bilou")


ROUND_TRIPS = [("iob1", "iob2"), ("iob1", "bioes"), ("bioes", "iob2"), ("iob2", "bioes")]


@needs_data
@pytest.mark.parametrize("name", CONLL_FILES)
def test_round_trips_on_every_conll2003_sentence(name: str) -> None:
    sentences = read_conll_tags(conll_path(name))
    malformed = []
    for index, tags in enumerate(sentences):
        if convert(tags, "iob1", "iob1") != tags:
            malformed.append(index)
            continue
        for scheme, other in ROUND_TRIPS:
            original = tags if scheme == "iob1" else convert(tags, "iob1", scheme)
            assert convert(convert(original, scheme, other), other, scheme) == original, (
                f"{name} sentence {index}: {scheme} -> {other} -> {scheme}"
            )
    # Only eng.train breaks the IOB1 rule, at the two tags SOURCE.md names (lines 152428 and
    # 175436: B-MISC after O, where a copy of the file has I-MISC); everything else is
    # well-formed IOB1.
    if name == "eng.train":
        assert len(malformed) == 2
        assert all("B-MISC" in sentences[i] for i in malformed)
    else:
        assert malformed == []


@needs_data
@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("eng.train", {"PER": 6600, "LOC": 7140, "ORG": 6321, "MISC": 3438}),
        ("eng.testa", {"PER": 1842, "LOC": 1837, "ORG": 1341, "MISC": 922}),
        ("eng.testb", {"PER": 1617, "LOC": 1668, "ORG": 1661, "MISC": 702}),
    ],
)
def test_conll2003_entity_counts_match_the_overview_paper(
    name: str, counts: dict[str, int]
) -> None:
    found: dict[str, int] = dict.fromkeys(counts, 0)
    for tags in read_conll_tags(conll_path(name)):
        for kind, _, _ in spans(tags, "iob1"):
            found[kind] += 1
    assert found == counts


# --- allowed_transitions ----------------------------------------------------------------------

TAG_SETS = {
    "iob1": ["O", "I-A", "B-A", "I-B", "B-B"],
    "iob2": ["O", "B-A", "I-A", "B-B", "I-B"],
    "bioes": ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"],
}


def passes(
    sequence: tuple[int, ...], start: np.ndarray, moves: np.ndarray, end: np.ndarray
) -> bool:
    return bool(
        start[sequence[0]]
        and end[sequence[-1]]
        and all(moves[a, b] for a, b in itertools.pairwise(sequence))
    )


def entity_layouts(length: int, types: int = 2) -> int:
    """How many ways typed, non-overlapping entities can lie on ``length`` tokens: each scheme
    writes each layout one way, so that many sequences are well formed."""
    ways = [1]
    for n in range(1, length + 1):
        ways.append(ways[n - 1] + types * sum(ways[n - size] for size in range(1, n + 1)))
    return ways[length]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_allowed_transitions_admit_exactly_the_well_formed_sequences(scheme: str) -> None:
    """Brute force over every sequence of length 1-4: it passes the constraints iff every round
    trip through the other schemes gives it back, and as many pass as there are layouts."""
    tags = TAG_SETS[scheme]
    start, moves, end = allowed_transitions(tags, scheme)
    assert start.shape == end.shape == (len(tags),) and moves.shape == (len(tags), len(tags))
    assert start.dtype == moves.dtype == end.dtype == np.bool_
    others = [other for other in SCHEMES if other != scheme]
    for length in range(1, 5):
        admitted = 0
        for sequence in itertools.product(range(len(tags)), repeat=length):
            written = [tags[i] for i in sequence]
            round_trips = all(
                convert(convert(written, scheme, other), other, scheme) == written
                for other in others
            )
            assert passes(sequence, start, moves, end) == round_trips, written
            admitted += round_trips
        assert admitted == entity_layouts(length), (scheme, length)


def test_allowed_transitions_by_hand() -> None:
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    start, moves, end = allowed_transitions(tags, "iob2")
    assert start.tolist() == [True, True, False, True, False]
    assert end.all()
    assert moves[:, 2].tolist() == [False, True, True, False, False]  # -> I-PER
    assert moves[:, [0, 1, 3]].all()  # -> O, B-*
    start, moves, end = allowed_transitions(["O", "I-PER", "B-PER", "I-LOC"], "iob1")
    assert start.tolist() == [True, True, False, True]
    assert moves[:, 2].tolist() == [False, True, True, False]  # B-PER only after PER
    assert moves[:, [0, 1, 3]].all()
    bioes = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "S-LOC"]
    start, moves, end = allowed_transitions(bioes, "bioes")
    assert start.tolist() == [True, True, False, False, True, True]
    assert end.tolist() == [True, False, False, True, True, True]
    assert moves[1].tolist() == [False, False, True, True, False, False]  # B-PER -> I/E-PER
    assert moves[3].tolist() == [True, True, False, False, True, True]  # E-PER -> O, B, S


def test_allowed_transitions_of_no_tags_and_bad_tags() -> None:
    start, moves, end = allowed_transitions([], "bioes")
    assert start.shape == end.shape == (0,) and moves.shape == (0, 0)
    with pytest.raises(ValueError, match=r"^allowed_transitions: tag 'E-PER' at position 1"):
        allowed_transitions(["O", "E-PER"], "iob1")
