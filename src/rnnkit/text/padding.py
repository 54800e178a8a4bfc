"""``pad_sequences`` with Keras' semantics (pre-padding and pre-truncation by default).

>>> pad_sequences([[1, 2, 3], [4, 5], [6]])
array([[1, 2, 3],
       [0, 4, 5],
       [0, 0, 6]])
>>> pad_sequences([[1, 2, 3], [4, 5], [6]], 2, padding="post", truncating="post")
array([[1, 2],
       [4, 5],
       [6, 0]])
>>> sequence_lengths([[1, 2, 3], [4, 5], []], maxlen=2)
array([2, 2, 0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

SIDES = ("pre", "post")

SequenceLike = Sequence[Any] | NDArray[Any]  # a list, tuple, array (or CPU tensor)


def _check_side(name: str, value: object) -> str:
    if value not in SIDES:
        raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {value!r}")
    return str(value)


def _check_maxlen(owner: str, maxlen: object) -> int | None:
    if maxlen is None:
        return None
    if isinstance(maxlen, bool) or not isinstance(maxlen, int | np.integer) or maxlen < 0:
        raise ValueError(f"{owner}: maxlen must be None or an integer >= 0, got {maxlen!r}")
    return int(maxlen)


def _lengths(owner: str, sequences: Sequence[Any]) -> list[int]:
    """The length of each sequence; ValueError naming the first item that is not a sequence."""
    if isinstance(sequences, str | bytes) or not hasattr(sequences, "__len__"):
        raise ValueError(
            f"{owner}: sequences must be a list of sequences, got {type(sequences).__name__}"
        )
    lengths = []
    for i, s in enumerate(sequences):
        if isinstance(s, str | bytes) or not hasattr(s, "__len__"):
            raise ValueError(
                f"{owner}: sequences[{i}] must be a sequence (list, tuple, array), "
                f"got {type(s).__name__}"
            )
        lengths.append(len(s))
    return lengths


def sequence_lengths(sequences: Sequence[SequenceLike], maxlen: int | None = None) -> NDArray[Any]:
    """The true length of each sequence after truncation to ``maxlen``: int64 array (N,)."""
    maxlen = _check_maxlen("sequence_lengths", maxlen)
    lengths = np.asarray(_lengths("sequence_lengths", sequences), dtype=np.int64)
    return lengths if maxlen is None else np.minimum(lengths, maxlen)


def pad_sequences(
    sequences: Sequence[SequenceLike],
    maxlen: int | None = None,
    *,
    dtype: DTypeLike = "int64",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0,
) -> NDArray[Any]:
    """Pad (and truncate) sequences to one length, as ``keras.utils.pad_sequences`` does.

    Args:
        sequences: N sequences of scalars, or of equal-shape items (then the result has
            their shape as trailing dimensions). Empty sequences are allowed: all ``value``.
        maxlen: the length T of the result; None: the longest sequence.
        dtype: the result's dtype (Keras' default is int32; ours is int64, torch's index type).
        padding: ``"pre"`` (Keras' default: values before the sequence) or ``"post"``.
        truncating: ``"pre"`` (Keras' default: drop the first items, keep the end) or
            ``"post"`` (keep the first ``maxlen`` items).
        value: the padding value.

    Returns:
        array (N, T, *item_shape).
    """
    padding = _check_side("padding", padding)
    truncating = _check_side("truncating", truncating)
    maxlen = _check_maxlen("pad_sequences", maxlen)
    lengths = _lengths("pad_sequences", sequences)
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if isinstance(value, str) and np.dtype(dtype).kind not in "OUS":
        raise ValueError(
            f"pad_sequences: value {value!r} is a str but dtype is {np.dtype(dtype)}; "
            "use dtype=object or a str dtype"
        )

    item_shape: tuple[int, ...] = ()
    first = next((i for i, n in enumerate(lengths) if n), None)
    if first is not None:
        item_shape = np.asarray(sequences[first]).shape[1:]
    out = np.full((len(lengths), maxlen, *item_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, (s, n) in enumerate(zip(sequences, lengths, strict=True)):
        if n == 0:
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(
                f"pad_sequences: sequences[{i}] has items of shape {kept.shape[1:]}, "
                f"but sequences[{first}] has {item_shape}"
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out
