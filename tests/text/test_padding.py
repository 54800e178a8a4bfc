"""pad_sequences: Keras' semantics on written examples (pre-padding and pre-truncation by
default, int32 by default, any NumPy dtype including strings), and sequence_lengths."""

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
    assert got.dtype == np.int32  # Keras' default dtype


def test_default_dtype_is_int32_whatever_the_input() -> None:
    for seqs in (SEQS, [np.array(s, dtype=np.int64) for s in SEQS], [[]], []):
        assert pad_sequences(seqs).dtype == np.int32
    assert pad_sequences(SEQS, 2, padding="post").dtype == np.int32
    # floats are cut to int32 as NumPy (and Keras) casts them: 1.7 -> 1
    check(pad_sequences([[1.7, 2.2]]), [[1, 2]])


def test_int64_on_request() -> None:
    got = pad_sequences(SEQS, dtype="int64")
    assert got.dtype == np.int64
    check(got, [[1, 2, 3], [0, 4, 5], [0, 0, 6]])
    assert pad_sequences(SEQS, dtype=np.int64).dtype == np.int64


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


def test_float32() -> None:
    # [0.5, 1.25] pre-padded to 3 with the default value 0.0; [3, 4, 5, 6] pre-truncated to 3
    got = pad_sequences([[0.5, 1.25], [3, 4, 5, 6]], 3, dtype=np.float32)
    assert got.dtype == np.float32
    check(got, [[0.0, 0.5, 1.25], [4.0, 5.0, 6.0]])
    got = pad_sequences([[0.5]], 2, dtype="float32", padding="post", value=np.nan)
    assert np.isnan(got[0, 1]) and got[0, 0] == 0.5


def test_object_dtype_keeps_python_strings_of_any_length() -> None:
    words = [["the", "cat", "sat"], ["a", "dog"], []]
    got = pad_sequences(words, dtype=object, value="<pad>")
    assert got.dtype == object and got.shape == (3, 3)
    assert got.tolist() == [
        ["the", "cat", "sat"],
        ["<pad>", "a", "dog"],
        ["<pad>", "<pad>", "<pad>"],
    ]
    assert all(type(w) is str for w in got.ravel())
    got = pad_sequences(words, 2, dtype=object, value="", padding="post", truncating="post")
    assert got.tolist() == [["the", "cat"], ["a", "dog"], ["", ""]]
    # Keras' default value is 0.0, and an object array keeps it as the float 0.0
    got = pad_sequences([["a"], []], dtype=object)
    assert got.tolist() == [["a"], [0.0]] and type(got[1, 0]) is float


@pytest.mark.parametrize("dtype", [np.str_, str, "U"])
def test_str_dtype_is_as_wide_as_the_widest_string(dtype: object) -> None:
    # The widest of "the", "mouse", "<pad>" is 5 characters: <U5, nothing cut (Keras would
    # make <U1 here and keep only "t", "m", "<").
    got = pad_sequences([["the", "mouse"], ["a"]], dtype=dtype, value="<pad>")
    assert got.dtype == np.dtype("<U5")
    assert got.tolist() == [["the", "mouse"], ["<pad>", "a"]]
    # a truncated-away long word does not widen the result: "hippopotamus" is dropped
    got = pad_sequences([["hippopotamus", "ox"], ["a"]], 1, dtype=dtype, value="-")
    assert got.dtype == np.dtype("<U2")
    assert got.tolist() == [["ox"], ["a"]]
    # the default value 0.0 becomes the string '0.0', as in NumPy
    assert pad_sequences([["a"], []], dtype=dtype).tolist() == [["a"], ["0.0"]]
    assert pad_sequences([[], []], 2, dtype=dtype, value="").dtype == np.dtype("<U1")


def test_sized_str_and_bytes_dtypes() -> None:
    got = pad_sequences([["abc", "d"]], 3, dtype="<U2", value="-")
    assert got.dtype == np.dtype("<U2")
    assert got.tolist() == [["-", "ab", "d"]]  # a sized dtype cuts, as NumPy does
    got = pad_sequences([[b"ab"], []], dtype=bytes, value=b"-")
    assert got.dtype == np.dtype("S2") and got.tolist() == [[b"ab"], [b"-"]]


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
    with pytest.raises(ValueError, match="value 'x' is a str but dtype is int32"):
        pad_sequences(SEQS, value="x")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: pad_sequences([[1], ["a", "b"]]),
            r"^pad_sequences: sequences\[1\] cannot be converted to int32 \(invalid literal .*\); "
            r"sequences of strings need dtype=object or dtype=str$",
        ),
        (
            lambda: pad_sequences([[2**40]]),
            r"^pad_sequences: sequences\[0\] does not fit in int32 \(.*out of bounds.*\)$",
        ),
        (
            lambda: pad_sequences(SEQS, dtype="float32", value="x"),
            r"^pad_sequences: value 'x' is a str but dtype is float32; use dtype=object",
        ),
        (
            lambda: pad_sequences(SEQS, value=None),
            r"^pad_sequences: value None cannot be stored as int32 \(",
        ),
        (
            lambda: pad_sequences(SEQS, dtype="no-such-type"),
            r"^pad_sequences: dtype 'no-such-type' is not a NumPy dtype$",
        ),
    ],
)
def test_dtype_errors_are_one_clear_line(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        call()  # type: ignore[operator]
    assert "\n" not in str(info.value)


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
