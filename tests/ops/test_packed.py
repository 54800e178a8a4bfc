"""rnnkit.ops._packed: the packed-row helpers, on hand-written cases and against torch's own
packing of padded tensors; and the NaN-filled ``torch.empty`` the ops tests run under."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.ops._packed import (
    final_rows,
    is_dense,
    previous_rows,
    reverse_index,
    sequence_lengths,
    step_offsets,
)

CPU = torch.device("cpu")

# Lengths (non-increasing) with ties, length-1 sequences, a single sequence and dense batches.
LENGTHS = [(3, 1), (7, 5, 5, 2), (4, 4, 4), (1, 1), (5,), (6, 3, 3, 3, 2, 1, 1)]


def batch_sizes_of(lengths: tuple[int, ...]) -> list[int]:
    """torch's batch sizes for sequences of these lengths."""
    padded = torch.zeros(lengths[0], len(lengths), 1)
    return pack_padded_sequence(padded, list(lengths)).batch_sizes.tolist()


def padded_codes(lengths: tuple[int, ...], width: int = 2) -> torch.Tensor:
    """(T, B, width) float64, entry (t, b, k) = 100 t + 10 b + k: every row tells where it is."""
    T, B = lengths[0], len(lengths)
    t = torch.arange(T, dtype=torch.float64).view(T, 1, 1)
    b = torch.arange(B, dtype=torch.float64).view(1, B, 1)
    k = torch.arange(width, dtype=torch.float64).view(1, 1, width)
    return 100 * t + 10 * b + k


def pack(padded: torch.Tensor, lengths: tuple[int, ...]) -> torch.Tensor:
    return pack_padded_sequence(padded, list(lengths)).data


def test_empty_buffers_are_nan_filled() -> None:
    """The conftest's autouse fixture is in force: unwritten float buffers read as NaN."""
    base = torch.zeros(2, 3, dtype=torch.float64)
    assert torch.empty(2, 3).isnan().all()
    assert torch.empty((4,), dtype=torch.float64).isnan().all()
    assert torch.empty_like(base).isnan().all()
    assert base.new_empty(5).isnan().all()
    assert base.new_empty(5).dtype == torch.float64
    assert torch.empty(3, dtype=torch.int64).shape == (3,)  # integer buffers left alone


def test_step_offsets() -> None:
    assert step_offsets([4, 3, 1, 1]) == [0, 4, 7, 8, 9]
    assert step_offsets([2, 2, 2]) == [0, 2, 4, 6]
    assert step_offsets([1]) == [0, 1]
    assert step_offsets([]) == [0]


def test_is_dense() -> None:
    assert is_dense([3, 3, 3])
    assert is_dense([1])
    assert not is_dense([3, 3, 1])


@pytest.mark.parametrize(
    ("batch_sizes", "lengths"),
    [([2, 1, 1], [3, 1]), ([4, 3, 3, 1], [4, 3, 3, 1]), ([3, 3], [2, 2, 2]), ([1], [1])],
)
def test_sequence_lengths_by_hand(batch_sizes: list[int], lengths: list[int]) -> None:
    got = sequence_lengths(batch_sizes, CPU)
    assert got.dtype == torch.int64
    assert got.tolist() == lengths


@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_sequence_lengths_inverts_packing(lengths: tuple[int, ...]) -> None:
    assert sequence_lengths(batch_sizes_of(lengths), CPU).tolist() == list(lengths)


def test_previous_rows_by_hand() -> None:
    """Lengths (3, 1): rows are (t0 b0), (t0 b1), (t1 b0), (t2 b0)."""
    first = torch.tensor([[-1.0], [-2.0]])  # (B, H)
    rows = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # (N, H)
    got = previous_rows(first, rows, [2, 1, 1])
    assert got.tolist() == [[-1.0], [-2.0], [0.0], [2.0]]


def test_previous_rows_dense_by_hand() -> None:
    first = torch.tensor([[-1.0], [-2.0]])
    rows = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])  # T = 3, B = 2
    got = previous_rows(first, rows, [2, 2, 2])
    assert got.tolist() == [[-1.0], [-2.0], [0.0], [1.0], [2.0], [3.0]]


@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_previous_rows_matches_shifted_padding(lengths: tuple[int, ...]) -> None:
    """Shifting the padded tensor one step down in time, h0 on top, then packing, gives the
    same rows."""
    padded = padded_codes(lengths)  # (T, B, 2)
    first = -1 - padded_codes((1,) * len(lengths))[0]  # (B, 2), distinct from every row
    shifted = torch.cat([first.unsqueeze(0), padded[:-1]])
    want = pack(shifted, lengths)
    got = previous_rows(first, pack(padded, lengths), batch_sizes_of(lengths))
    assert torch.equal(got, want)


def test_final_rows_by_hand() -> None:
    """Lengths (3, 1): sequence 0 ends at row 3, sequence 1 at row 1."""
    rows = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    assert final_rows(rows, [2, 1, 1]).tolist() == [[3.0], [1.0]]
    dense = torch.arange(6.0).view(6, 1)  # T = 3, B = 2
    assert final_rows(dense, [2, 2, 2]).tolist() == [[4.0], [5.0]]


@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_final_rows_matches_padding(lengths: tuple[int, ...]) -> None:
    padded = padded_codes(lengths)
    want = torch.stack([padded[n - 1, b] for b, n in enumerate(lengths)])
    got = final_rows(pack(padded, lengths), batch_sizes_of(lengths))
    assert torch.equal(got, want)


@pytest.mark.parametrize("lengths", [(4, 4), (3, 1)], ids=str)
def test_final_rows_is_a_copy(lengths: tuple[int, ...]) -> None:
    rows = pack(padded_codes(lengths), lengths)
    before = rows.clone()
    final_rows(rows, batch_sizes_of(lengths)).fill_(math.pi)
    assert torch.equal(rows, before)


def test_reverse_index_by_hand() -> None:
    """Lengths (3, 1): rows (t0 b0) ↔ (t2 b0), (t1 b0) and (t0 b1) stay."""
    assert reverse_index([2, 1, 1], CPU).tolist() == [3, 1, 2, 0]
    # dense T = 3, B = 2: step t ↔ step 2 − t
    assert reverse_index([2, 2, 2], CPU).tolist() == [4, 5, 2, 3, 0, 1]


@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_reverse_index_flips_each_sequence(lengths: tuple[int, ...]) -> None:
    """Gathering packed rows with the index equals flipping each padded sequence within its own
    length and packing; the index is its own inverse."""
    padded = padded_codes(lengths)
    flipped = padded.clone()
    for b, n in enumerate(lengths):
        flipped[:n, b] = padded[:n, b].flip(0)
    index = reverse_index(batch_sizes_of(lengths), CPU)
    assert index.dtype == torch.int64
    assert torch.equal(pack(padded, lengths)[index], pack(flipped, lengths))
    assert torch.equal(index[index], torch.arange(sum(lengths)))
