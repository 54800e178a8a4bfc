"""stratified_split and random_split: seeded and deterministic, disjoint, complete."""

from __future__ import annotations

import zlib
from collections import Counter

import pytest

from rnnkit.datasets import Example, stratified_split
from rnnkit.datasets.splits import random_split

# Unbalanced on purpose, with odd sizes and a label too small to hold anything out.
SIZES = {"a": 97, "b": 31, "c": 10, "d": 3, "e": 1}


def make_examples() -> list[Example]:
    examples = []
    for label, n in SIZES.items():
        examples += [Example(f"{label} text {i}", label) for i in range(n)]
    # interleave the labels so that order does not give the split away
    return sorted(examples, key=lambda e: zlib.crc32(e.text.encode()))


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.9])
def test_each_label_held_out_in_proportion(fraction: float) -> None:
    rest, held_out = stratified_split(make_examples(), fraction, seed=3)
    held = Counter(e.label for e in held_out)
    kept = Counter(e.label for e in rest)
    for label, n in SIZES.items():
        assert abs(held[label] - fraction * n) <= 1, (label, held[label], fraction * n)
        assert kept[label] >= 1, f"label {label!r} vanished from rest"


def test_disjoint_and_complete() -> None:
    examples = make_examples()
    rest, held_out = stratified_split(examples, 0.2, seed=0)
    assert not {e.text for e in rest} & {e.text for e in held_out}
    assert Counter(rest + held_out) == Counter(examples)
    assert len(rest) + len(held_out) == len(examples)


def test_same_seed_same_split_other_seed_other_split() -> None:
    examples = make_examples()
    first = stratified_split(examples, 0.2, seed=7)
    again = stratified_split(list(examples), 0.2, seed=7)
    other = stratified_split(examples, 0.2, seed=8)
    assert first == again
    assert {e.text for e in first[1]} != {e.text for e in other[1]}


def test_both_parts_are_shuffled() -> None:
    examples = sorted(make_examples(), key=lambda e: (e.label, e.text))
    rest, held_out = stratified_split(examples, 0.3, seed=1)
    assert [e.label for e in rest] != sorted(e.label for e in rest)
    assert [e.label for e in held_out] != sorted(e.label for e in held_out)


def test_input_is_not_modified() -> None:
    examples = make_examples()
    snapshot = list(examples)
    stratified_split(examples, 0.5, seed=0)
    assert examples == snapshot


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_outside_0_1_is_rejected(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction must be in"):
        stratified_split(make_examples(), fraction, seed=0)


def test_doc_example_rounding() -> None:
    data = [Example(f"t{i}", "x") for i in range(15)]  # 0.1 * 15 = 1.5 → 2
    rest, held_out = stratified_split(data, 0.1, seed=0)
    assert (len(rest), len(held_out)) == (13, 2)


# --- random_split ---------------------------------------------------------------------------


def test_random_split_sizes_disjoint_complete_in_order() -> None:
    items = [f"s{i}" for i in range(101)]
    rest, val, test = random_split(items, (0.15, 0.1), seed=4)
    assert (len(rest), len(val), len(test)) == (76, 15, 10)  # 15.15 -> 15, 10.1 -> 10
    assert sorted(rest + val + test) == sorted(items)
    for part in (rest, val, test):
        assert part == sorted(part, key=items.index)  # each keeps the input's order
    assert random_split(items, (0.15, 0.1), seed=4) == [rest, val, test]
    assert random_split(items, (0.15, 0.1), seed=5)[2] != test


def test_random_split_keeps_one_item_for_the_rest() -> None:
    assert random_split(["a", "b"], (0.45, 0.45), seed=0)[0] != []
    assert random_split(["a"], (0.5,), seed=0) == [["a"], []]
    assert random_split([], (0.5,), seed=0) == [[], []]
    assert random_split(["a", "b"], (), seed=0) == [["a", "b"]]


@pytest.mark.parametrize("fractions", [(1.0,), (-0.1,), (0.5, 0.5), (0.6, 0.6)])
def test_random_split_rejects_bad_fractions(fractions: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="fractions must each be in"):
        random_split(["a"], fractions, seed=0)
