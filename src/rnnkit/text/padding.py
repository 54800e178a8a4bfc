"""``pad_sequences`` with Keras' semantics (pre-padding and pre-truncation by default, int32).

>>> pad_sequences([[1, 2, 3], [4, 5], [6]])
array([[1, 2, 3],
       [0, 4, 5],
       [0, 0, 6]], dtype=int32)
>>> pad_sequences([[1, 2, 3], [4, 5], [6]], 2, padding="post", truncating="post")
array([[1, 2],
       [4, 5],
       [6, 0]], dtype=int32)
>>> pad_sequences([["the", "cat"], ["hi"]], dtype=str, value="<pad>")
array([['the', 'cat'],
       ['<pad>', 'hi']], dtype='<U5')
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


def _convert(i: int, part: Any, dtype: np.dtype[Any]) -> NDArray[Any]:
    """``part`` (the kept items of ``sequences[i]``) as an array of ``dtype``, or one clear line."""
    try:
        return np.asarray(part, dtype=dtype)
    except OverflowError as e:
        raise ValueError(f"pad_sequences: sequences[{i}] does not fit in {dtype} ({e})") from None
    except (ValueError, TypeError) as e:
        hint = (
            "" if dtype.kind in "OUS" else "; sequences of strings need dtype=object or dtype=str"
        )
        raise ValueError(
            f"pad_sequences: sequences[{i}] cannot be converted to {dtype} ({e}){hint}"
        ) from None


def pad_sequences(
    sequences: Sequence[SequenceLike],
    maxlen: int | None = None,
    *,
    dtype: DTypeLike = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> NDArray[Any]:
    """Pad (and truncate) sequences to one length, as ``keras.utils.pad_sequences`` does.

    Args:
        sequences: N sequences of scalars, or of equal-shape items (then the result has
            their shape as trailing dimensions). Empty sequences are allowed: all ``value``.
        maxlen: the length T of the result; None: the longest sequence.
        dtype: the result's dtype, any NumPy dtype; Keras' default ``"int32"``. For strings use
            ``object`` (Python strings, any length) or ``str`` / ``np.str_`` (a NumPy string
            dtype wide enough for the longest item and ``value``; Keras would keep one
            character); a sized one such as ``"<U5"`` cuts longer strings, as NumPy does.
            Index sequences fed to torch's ``nn.Embedding`` need ``dtype="int64"`` (or
            ``.long()`` on the tensor).
        padding: ``"pre"`` (Keras' default: values before the sequence) or ``"post"``.
        truncating: ``"pre"`` (Keras' default: drop the first items, keep the end) or
            ``"post"`` (keep the first ``maxlen`` items).
        value: the padding value (Keras' default ``0.0``: 0 in an integer array); a str
            needs a string or object ``dtype``.

    Returns:
        array (N, T, *item_shape) of ``dtype``.
    """
    padding = _check_side("padding", padding)
    truncating = _check_side("truncating", truncating)
    maxlen = _check_maxlen("pad_sequences", maxlen)
    lengths = _lengths("pad_sequences", sequences)
    if maxlen is None:
        maxlen = max(lengths, default=0)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"pad_sequences: dtype {dtype!r} is not a NumPy dtype") from None
    if isinstance(value, str) and dt.kind not in "OUS":
        raise ValueError(
            f"pad_sequences: value {value!r} is a str but dtype is {dt}; "
            "use dtype=object or a str dtype"
        )

    def kept_part(s: Any) -> Any:
        return s[-maxlen:] if truncating == "pre" else s[:maxlen]

    if dt.kind in "US" and dt.itemsize == 0:
        # An unsized str / bytes dtype: as wide as the widest kept item or the value.
        widest = [np.asarray(value, dtype=dt).dtype] if maxlen else []
        widest += [
            _convert(i, kept_part(s), dt).dtype
            for i, (s, n) in enumerate(zip(sequences, lengths, strict=True))
            if n and maxlen
        ]
        dt = max(widest, key=lambda d: d.itemsize, default=np.dtype((dt.type, 1)))

    item_shape: tuple[int, ...] = ()
    first = next((i for i, n in enumerate(lengths) if n), None)
    if first is not None:
        item_shape = np.asarray(sequences[first]).shape[1:]
    try:
        out = np.full((len(lengths), maxlen, *item_shape), value, dtype=dt)
    except (ValueError, TypeError, OverflowError) as e:
        raise ValueError(f"pad_sequences: value {value!r} cannot be stored as {dt} ({e})") from None
    if maxlen == 0:
        return out
    for i, (s, n) in enumerate(zip(sequences, lengths, strict=True)):
        if n == 0:
            continue
        kept = _convert(i, kept_part(s), dt)
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
