"""Length-bucketed batches and a padding collate, so little compute goes to padding.

Use with a ``DataLoader`` whose items are ``(token_ids, label)``::

    sampler = BucketBatchSampler([len(ids) for ids, _ in dataset], 32)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_padded)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)          # a new, reproducible order each epoch
        for ids, lengths, labels in loader:
            out, h = lstm(embed(ids), lengths=lengths)

>>> ids, lengths, labels = collate_padded([([5, 6, 7], 1), ([8], 0)])
>>> ids
tensor([[5, 6, 7],
        [8, 0, 0]])
>>> lengths, labels
(tensor([3, 1]), tensor([1, 0]))
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler

TokenIds = Sequence[int] | NDArray[np.integer[Any]] | Tensor  # one sequence of token ids


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices of similar length: a ``batch_sampler`` for ``DataLoader``.

    Each epoch: shuffle the indices (if ``shuffle``), cut them into chunks of
    ``batch_size * bucket_size_multiplier``, sort each chunk by length, cut it into batches,
    then shuffle the batch order. Without ``shuffle`` the order is fixed (chunks of consecutive
    indices, batches in order), as for evaluation.

    Args:
        lengths: the length of each example (N,).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch, from ``(seed, epoch)``: call :meth:`set_epoch`.
        bucket_size_multiplier: chunk size in batches; larger: more homogeneous, less random.
        drop_last: drop the one short batch (and, with several replicas, the batches left
            over after an equal split). Otherwise the short batch is kept and, with several
            replicas, batches from the start are repeated so every rank gets as many.
        seed: base seed, the same on every rank.
        num_replicas, rank: for ``DistributedDataParallel``: this rank gets every
            ``num_replicas``-th batch of the shared order, disjoint from the other ranks'.

    Yields:
        list[int] of at most ``batch_size`` dataset indices; ``len(sampler)`` batches per epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int] | NDArray[np.integer[Any]],
        batch_size: int,
        *,
        shuffle: bool = True,
        bucket_size_multiplier: int = 50,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        owner = "BucketBatchSampler"
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.ndim != 1 or (self.lengths < 0).any():
            raise ValueError(f"{owner}: lengths must be a flat list of integers >= 0")
        self.batch_size = _check_int(owner, "batch_size", batch_size, 1)
        self.bucket_size_multiplier = _check_int(
            owner, "bucket_size_multiplier", bucket_size_multiplier, 1
        )
        self.seed = _check_int(owner, "seed", seed, 0)
        self.num_replicas = _check_int(owner, "num_replicas", num_replicas, 1)
        self.rank = _check_int(owner, "rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"{owner}: rank must be in [0, {num_replicas - 1}], got {rank!r}")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order :meth:`__iter__` gives (same epoch, same order)."""
        self.epoch = _check_int("BucketBatchSampler.set_epoch", "epoch", epoch, 0)

    def _all_batches(self) -> list[NDArray[np.int64]]:
        """Every rank's batches for this epoch, in order (identical on all ranks)."""
        n, size = len(self.lengths), self.batch_size
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        chunk = size * self.bucket_size_multiplier
        batches: list[NDArray[np.int64]] = []
        for start in range(0, n, chunk):
            idx = order[start : start + chunk]
            idx = idx[np.argsort(self.lengths[idx], kind="stable")]
            batches.extend(idx[j : j + size] for j in range(0, len(idx), size))
        if self.drop_last and batches and len(batches[-1]) < size:
            batches.pop()  # only the last chunk's last batch can be short
        if self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        replicas = self.num_replicas
        if replicas > 1:
            if self.drop_last:
                batches = batches[: len(batches) // replicas * replicas]
            elif batches:
                pad = -len(batches) % replicas
                batches = batches + [batches[k % len(batches)] for k in range(pad)]
            batches = batches[self.rank :: replicas]
        for batch in batches:
            yield batch.tolist()

    def __len__(self) -> int:
        n, size, replicas = len(self.lengths), self.batch_size, self.num_replicas
        total = n // size if self.drop_last else -(-n // size)
        return total // replicas if self.drop_last else -(-total // replicas)


def pad_batch(
    sequences: Sequence[TokenIds],
    *,
    pad_index: int = 0,
    max_len: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Pad token-id sequences at the end ('post') to the longest in the batch.

    Args:
        sequences: B non-empty sequences of token ids (lists, arrays or 1-D tensors).
        pad_index: the id written after each sequence.
        max_len: keep only the first ``max_len`` ids of each sequence; None: keep all.

    Returns:
        ids: LongTensor (B, T), T = the longest length after truncation;
        lengths: LongTensor (B,) on the CPU, the true lengths (what ``pack_padded_sequence``
        and the rnnkit layers' ``lengths=`` take).
    """
    return _pad("pad_batch", sequences, pad_index, max_len)


def _pad(
    owner: str, sequences: Sequence[TokenIds], pad_index: int, max_len: int | None
) -> tuple[Tensor, Tensor]:
    if max_len is not None:
        max_len = _check_int(owner, "max_len", max_len, 1)
    if len(sequences) == 0:
        raise ValueError(f"{owner}: the batch is empty")
    rows = []
    for i, seq in enumerate(sequences):
        try:
            row = torch.as_tensor(seq, dtype=torch.long)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(
                f"{owner}: sequence at position {i} must hold integer token ids, got {seq!r:.60}"
            ) from None
        if row.dim() != 1:
            raise ValueError(
                f"{owner}: sequence at position {i} must be 1-D, got shape {tuple(row.shape)}"
            )
        if row.numel() == 0:
            raise ValueError(
                f"{owner}: sequence at position {i} is empty; every sequence needs at least "
                "one token (a length-0 sequence cannot be packed)"
            )
        rows.append(row if max_len is None else row[:max_len])
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)  # (B,)
    ids = pad_sequence(rows, batch_first=True, padding_value=pad_index)  # (B, T)
    return ids, lengths


def collate_padded(
    batch: Sequence[tuple[TokenIds, int]],
    *,
    pad_index: int = 0,
    max_len: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Collate ``(token_ids, label)`` pairs into padded ids, lengths and labels.

    Padding is 'post' (the layers read the true lengths, so padding is never computed on).
    For items without labels use :func:`pad_batch`; for per-token labels (tagging), pad the
    label sequences with :func:`pad_batch` too.

    Returns:
        ids: LongTensor (B, T); lengths: LongTensor (B,); labels: LongTensor (B,).
    """
    sequences, labels = [], []
    for i, item in enumerate(batch):
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise ValueError(
                f"collate_padded: item at position {i} must be a (token_ids, label) pair, "
                f"got {item!r:.60}"
            )
        seq, label = item
        try:
            labels.append(operator.index(label))
        except TypeError:
            raise ValueError(
                f"collate_padded: label at position {i} must be an integer class, got "
                f"{label!r:.60}; for per-token labels use pad_batch on them"
            ) from None
        sequences.append(seq)
    if not sequences:
        raise ValueError("collate_padded: the batch is empty")
    ids, lengths = _pad("collate_padded", sequences, pad_index, max_len)
    return ids, lengths, torch.tensor(labels, dtype=torch.long)


@dataclass
class TextBatch:
    """A padded batch of token ids with their true lengths and (when known) labels; the batch
    type of classification and of language-model pretraining."""

    ids: Tensor  # (B, T) int64, padded at the end
    lengths: Tensor  # (B,) int64, each in [1, T]
    labels: Tensor | None = None  # (B,) int64 class indices


def bucketed_loader(
    dataset: Dataset[Any],
    lengths: Sequence[int],
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    collate_fn: Callable[[list[Any]], Any],
) -> DataLoader[Any]:
    """Length-bucketed batches of ``dataset`` (item ``i`` has ``lengths[i]`` tokens); shuffled
    ones are sharded across DDP ranks when torchrun runs (``WORLD_SIZE``, ``RANK``)."""
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    sampler = BucketBatchSampler(
        list(lengths), batch_size, shuffle=shuffle, seed=seed,
        num_replicas=world if shuffle else 1, rank=rank if shuffle else 0,
    )  # fmt: skip
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_fn)


def length_sorted_chunks(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Positions ``0 … len(lengths) - 1`` shortest first, in chunks of ``batch_size``: batches
    with little padding whose results go back to their positions (prediction in input order)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]
