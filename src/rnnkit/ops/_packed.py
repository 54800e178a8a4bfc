"""The packed, time-major layout every op works in.

A batch of B sequences, sorted by decreasing length, is stored as rows: step t holds the
``batch_sizes[t]`` sequences still running at rows ``offsets[t] : offsets[t + 1]`` — torch's
``PackedSequence`` layout. A dense (T, B, ·) tensor is the special case ``batch_sizes = [B] * T``,
reshaped to (T·B, ·) without a copy. Working on rows means no product, gate or gradient is ever
computed for padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def step_offsets(batch_sizes: Sequence[int]) -> list[int]:
    """Row offsets of each step, with the total row count N last: length T + 1."""
    offsets = [0]
    for size in batch_sizes:
        offsets.append(offsets[-1] + size)
    return offsets


def is_dense(batch_sizes: Sequence[int]) -> bool:
    """Whether every step holds the whole batch (no sequence ends early)."""
    return batch_sizes[-1] == batch_sizes[0]


def sequence_lengths(batch_sizes: Sequence[int], device: torch.device) -> Tensor:
    """Length of each of the B sequences, (B,) int64, non-increasing."""
    sizes = torch.tensor(list(batch_sizes), device=device)  # (T,)
    return (sizes.unsqueeze(1) > torch.arange(batch_sizes[0], device=device)).sum(0)


def previous_rows(first: Tensor, rows: Tensor, batch_sizes: Sequence[int]) -> Tensor:
    """Rows shifted one step back in time: (N, H).

    Row (t, b) of the result holds row (t − 1, b) of ``rows`` (N, H), or ``first[b]`` (B, H)
    at t = 0.
    """
    batch = batch_sizes[0]
    if is_dense(batch_sizes):
        return torch.cat([first, rows[: rows.shape[0] - batch]])
    offsets = step_offsets(batch_sizes)
    index = torch.cat(
        [
            torch.arange(offsets[t - 1], offsets[t - 1] + batch_sizes[t], device=rows.device)
            for t in range(1, len(batch_sizes))
        ]
    )
    return torch.cat([first, rows[index]])


def final_rows(rows: Tensor, batch_sizes: Sequence[int]) -> Tensor:
    """The row of each sequence's last step: (B, H), in batch order; a new tensor, not a view."""
    batch = batch_sizes[0]
    if is_dense(batch_sizes):
        return rows[rows.shape[0] - batch :].clone()
    return rows[_final_row_index(batch_sizes, rows.device)]


def set_final_rows(rows: Tensor, values: Tensor, batch_sizes: Sequence[int]) -> None:
    """The inverse of :func:`final_rows`, in place: the row of each sequence's last step in
    ``rows`` (N, H) becomes that sequence's row of ``values`` (B, H)."""
    batch = batch_sizes[0]
    if is_dense(batch_sizes):
        rows[rows.shape[0] - batch :].copy_(values)
    else:
        rows.index_copy_(0, _final_row_index(batch_sizes, rows.device), values)


def _final_row_index(batch_sizes: Sequence[int], device: torch.device) -> Tensor:
    """Where each sequence's last step is in the packed rows: (B,) int64, in batch order."""
    offsets = torch.tensor(step_offsets(batch_sizes)[:-1], device=device)  # (T,)
    lengths = sequence_lengths(batch_sizes, device)  # (B,)
    return offsets[lengths - 1] + torch.arange(batch_sizes[0], device=device)


def reverse_index(batch_sizes: Sequence[int], device: torch.device) -> Tensor:
    """Row permutation that reverses every sequence within its own length: (N,) int64.

    Row (t, b) maps to row (len_b − 1 − t, b); the permutation is its own inverse, so the same
    index turns the reversed direction's outputs back into time order.
    """
    sizes = torch.tensor(list(batch_sizes), device=device)  # (T,)
    offsets = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])  # (T,)
    steps = torch.repeat_interleave(torch.arange(len(batch_sizes), device=device), sizes)  # (N,)
    batch = torch.arange(sizes.sum().item(), device=device) - offsets[steps]  # (N,)
    lengths = sequence_lengths(batch_sizes, device)  # (B,)
    return offsets[lengths[batch] - 1 - steps] + batch


def unit_column_stride(t: Tensor) -> Tensor:
    """``t`` (rows, W) itself when its columns are contiguous (a row stride is all a step kernel
    takes), else a contiguous copy: a step kernel's input the caller passed in strided."""
    return t if t.stride(1) == 1 else t.contiguous()
