"""pad_sequences: Keras' semantics on written examples (pre-padding and pre-truncation by
default), and sequence_lengths."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import rnnkit.text.padding
from rnnkit.text import pad_sequences, sequence_lengths

SEQS = [[1, 2, 3], [4, 5], [6]]


def check(got: np.ndarray, expected: list[list[int]] | list[list[float]]) -> None:
    np.testing.assert_array_equal(got, np.array(expected))
    assert got.shape == np.array(expected).shape


def test_default_is_pre_padding_to_the_longest() -> None:
    got = pad_sequences(SEQS)
    check(got, [[1, 2, 3], [0, 4, 5], [0, 0, 6]])
    assert got.dtype == np.int64


def test_post_padding() -> None:
    check(pad_sequences(SEQS, padding="post"), [[1, 2, 3], [4, 5, 0], [6, 0, 0]])


def test_default_truncation_keeps_the_end() -> None:
    check(pad_sequences(SEQS, 2), [[2, 3], [4, 5], [0, 6]])


def test_post_truncation_keeps_the_start() -> None:
    check(pad_sequences(SEQS, 2, truncating="post"), [[1, 2], [4, 5], [0, 6]])
    check(
        pad_sequences(SEQS, 2, padding="post", truncating="post"),
        [[1, 2], [4, 5], [6, 0]],
    )
    check(pad_sequences(SEQS, 2, padding="post"), [[2, 3], [4, 5], [6, 0]])


def test_maxlen_longer_than_every_sequence() -> None:
    check(pad_sequences([[1], [2, 3]], 4), [[0, 0, 0, 1], [0, 0, 2, 3]])


def test_value_and_dtype() -> None:
    check(pad_sequences(SEQS, value=-1), [[1, 2, 3], [-1, 4, 5], [-1, -1, 6]])
    got = pad_sequences([[0.25], [1.5, 2.5]], dtype="float32", value=0.5)
    assert got.dtype == np.float32
    check(got, [[0.5, 0.25], [1.5, 2.5]])
    got = pad_sequences([["a"], []], dtype=object, value="<pad>")
    assert got.tolist() == [["a"], ["<pad>"]]


def test_empty_sequences_and_empty_input() -> None:
    check(pad_sequences([[], [1]]), [[0], [1]])
    check(pad_sequences([[], [7]], padding="post", value=9), [[9], [7]])
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([], 3).shape == (0, 3)
    assert pad_sequences(SEQS, 0).shape == (3, 0)  # Keras' s[-0:] would keep everything


def test_arrays_tuples_and_item_shape() -> None:
    check(pad_sequences((np.array([1, 2]), (3,))), [[1, 2], [0, 3]])
    got = pad_sequences([[[1, 2], [3, 4]], [[5, 6]]])
    assert got.shape == (2, 2, 2)
    np.testing.assert_array_equal(got[1], [[0, 0], [5, 6]])
    with pytest.raises(ValueError, match=r"sequences\[1\] has items of shape \(3,\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


@pytest.mark.parametrize("name", ["padding", "truncating"])
def test_invalid_side_names_argument_and_value(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name} must be 'pre' or 'post', got 'middle'"):
        pad_sequences(SEQS, **{name: "middle"})  # type: ignore[arg-type]


def test_other_bad_input() -> None:
    with pytest.raises(ValueError, match=r"sequences\[1\] must be a sequence.*int"):
        pad_sequences([[1], 2])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="sequences must be a list of sequences"):
        pad_sequences("abc")
    with pytest.raises(ValueError, match="maxlen must be None or an integer >= 0, got -1"):
        pad_sequences(SEQS, -1)
    with pytest.raises(ValueError, match="value 'x' is a str but dtype is int64"):
        pad_sequences(SEQS, value="x")


def test_sequence_lengths() -> None:
    got = sequence_lengths([[1, 2, 3], [4, 5], []])
    np.testing.assert_array_equal(got, [3, 2, 0])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(sequence_lengths([[1, 2, 3], [4, 5], []], 2), [2, 2, 0])
    # the lengths say where the real tokens are in a post-padded batch
    padded = pad_sequences(SEQS, 2, padding="post", truncating="post")
    lengths = sequence_lengths(SEQS, 2)
    assert all(
        (row[n:] == 0).all() and (row[:n] != 0).all()
        for row, n in zip(padded, lengths, strict=True)
    )


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.text.padding, report=False)
    assert result.attempted > 0 and result.failed == 0
