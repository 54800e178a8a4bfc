"""BucketBatchSampler (coverage, homogeneity, epochs, sharding) and the padding collates."""

from __future__ import annotations

import doctest
import functools
import itertools

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import rnnkit.text.batching
from rnnkit.text import BucketBatchSampler, collate_padded, pad_batch


def skewed_lengths(n: int = 1000, seed: int = 0) -> list[int]:
    """Right-skewed lengths like sentences': median ~20, 1% beyond ~150, a few ~300."""
    rng = np.random.default_rng(seed)
    lengths: list[int] = np.maximum(1, np.rint(rng.lognormal(3.0, 0.9, n))).astype(int).tolist()
    return lengths


def epoch(sampler: BucketBatchSampler, number: int = 0) -> list[list[int]]:
    sampler.set_epoch(number)
    return list(sampler)


def flat(batches: list[list[int]]) -> list[int]:
    return [i for b in batches for i in b]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n", [0, 1, 37, 250])
def test_every_index_once_per_epoch(n: int, shuffle: bool) -> None:
    sampler = BucketBatchSampler(skewed_lengths(n), 8, shuffle=shuffle, bucket_size_multiplier=3)
    for e in range(2):
        batches = epoch(sampler, e)
        assert sorted(flat(batches)) == list(range(n))
        assert len(batches) == len(sampler) == -(-n // 8)
        assert all(1 <= len(b) <= 8 for b in batches)
        assert all(isinstance(i, int) for i in flat(batches))


def test_drop_last_keeps_only_full_batches() -> None:
    sampler = BucketBatchSampler(skewed_lengths(37), 8, drop_last=True)
    batches = epoch(sampler)
    assert len(batches) == len(sampler) == 4
    assert all(len(b) == 8 for b in batches)
    assert len(set(flat(batches))) == 32


def test_batches_are_length_homogeneous() -> None:
    lengths = np.array(skewed_lengths(2000))
    assert lengths.max() / lengths.min() > 50  # the list really is skewed

    def padding_waste(batches: list[list[int]]) -> float:
        padded = sum(len(b) * lengths[b].max() for b in batches)
        return float(1 - lengths.sum() / padded)

    def median_spread(batches: list[list[int]]) -> float:  # max/min length in a batch
        return float(np.median([lengths[b].max() / lengths[b].min() for b in batches]))

    bucketed = epoch(BucketBatchSampler(lengths.tolist(), 32))
    order = np.random.default_rng(1).permutation(len(lengths))
    random_batches = [order[i : i + 32].tolist() for i in range(0, len(order), 32)]
    # measured: spread 1.08 vs 37.5; padding 14% vs 78% of the padded tensor
    assert median_spread(bucketed) < 1.25 and median_spread(random_batches) > 10
    assert padding_waste(bucketed) < 0.25 * padding_waste(random_batches)


def test_epochs_differ_and_repeat_deterministically() -> None:
    lengths = skewed_lengths(300)
    sampler = BucketBatchSampler(lengths, 16)
    e0, e1 = epoch(sampler, 0), epoch(sampler, 1)
    assert e0 != e1
    assert epoch(sampler, 0) == e0  # back to epoch 0: the same order (resume)
    assert epoch(BucketBatchSampler(lengths, 16), 1) == e1  # a fresh sampler, same seed
    assert epoch(BucketBatchSampler(lengths, 16, seed=1), 1) != e1


def test_shuffle_changes_which_indices_share_a_batch() -> None:
    lengths = [5] * 64  # equal lengths: the grouping comes from the shuffle alone
    sampler = BucketBatchSampler(lengths, 8, bucket_size_multiplier=1)
    groups = [{frozenset(b) for b in epoch(sampler, e)} for e in range(2)]
    assert groups[0] != groups[1]


def test_batch_order_is_shuffled() -> None:
    lengths = list(range(1, 65))  # one chunk: sorted, so unshuffled batches would ascend
    sampler = BucketBatchSampler(lengths, 8, bucket_size_multiplier=100)
    for e in range(3):
        firsts = [lengths[b[0]] for b in epoch(sampler, e)]
        assert sorted(firsts) == list(range(1, 65, 8)) and firsts != sorted(firsts)


def test_no_shuffle_is_fixed_and_sorted_within_chunks() -> None:
    lengths = [3, 1, 2, 9, 7, 8]
    sampler = BucketBatchSampler(lengths, 2, shuffle=False, bucket_size_multiplier=2)
    assert epoch(sampler, 0) == epoch(sampler, 5) == [[1, 2], [0, 3], [4, 5]]


@pytest.mark.parametrize("drop_last", [False, True])
def test_two_replicas_disjoint_covering_equal(drop_last: bool) -> None:
    lengths = skewed_lengths(320)  # 20 batches of 16: divisible by 2
    shards = [
        epoch(BucketBatchSampler(lengths, 16, num_replicas=2, rank=r, drop_last=drop_last), 3)
        for r in range(2)
    ]
    a, b = (set(flat(s)) for s in shards)
    assert not a & b
    assert sorted(a | b) == list(range(320))
    assert len(shards[0]) == len(shards[1]) == 10
    whole = epoch(BucketBatchSampler(lengths, 16), 3)  # the ranks split the same order
    assert sorted(map(sorted, shards[0] + shards[1])) == sorted(map(sorted, whole))


def test_replicas_when_not_divisible() -> None:
    lengths = skewed_lengths(70)  # 9 batches of 8 (the last short)
    make = functools.partial(BucketBatchSampler, lengths, 8, num_replicas=2)
    padded = [epoch(make(rank=r)) for r in range(2)]
    assert [len(s) for s in padded] == [len(make(rank=r)) for r in range(2)] == [5, 5]
    assert set(flat(padded[0])) | set(flat(padded[1])) == set(range(70))
    dropped = [epoch(make(rank=r, drop_last=True)) for r in range(2)]
    assert [len(s) for s in dropped] == [len(make(rank=r, drop_last=True)) for r in range(2)]
    assert len(dropped[0]) == len(dropped[1]) == 4
    assert not set(flat(dropped[0])) & set(flat(dropped[1]))


@pytest.mark.parametrize(
    ("n", "size", "drop_last", "replicas"),
    list(itertools.product([0, 5, 33], [1, 4, 40], [False, True], [1, 3])),
)
def test_len_matches_iteration(n: int, size: int, drop_last: bool, replicas: int) -> None:
    for rank in range(replicas):
        sampler = BucketBatchSampler(
            skewed_lengths(n), size, drop_last=drop_last, num_replicas=replicas, rank=rank
        )
        assert len(list(sampler)) == len(sampler)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"bucket_size_multiplier": 0}, "bucket_size_multiplier must be an integer >= 1"),
        ({"rank": 2, "num_replicas": 2}, r"rank must be in \[0, 1\], got 2"),
        ({"num_replicas": 0}, "num_replicas must be an integer >= 1"),
        ({"lengths": [1, -1]}, "lengths must be a flat list of integers >= 0"),
        ({"seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"lengths": [1, 2, 3], "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=rf"BucketBatchSampler: {message}"):
        BucketBatchSampler(**args)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epoch must be an integer >= 0"):
        BucketBatchSampler([1], 1).set_epoch(-1)


def test_collate_padded_shapes_values_lengths() -> None:
    batch: list[tuple[list[int] | torch.Tensor, int]] = [
        ([4, 5, 6], 1),
        ([7], 0),
        (torch.tensor([8, 9]), 2),
    ]
    ids, lengths, labels = collate_padded(batch)
    assert ids.dtype == lengths.dtype == labels.dtype == torch.long
    assert ids.tolist() == [[4, 5, 6], [7, 0, 0], [8, 9, 0]]  # 'post' padding
    assert lengths.tolist() == [3, 1, 2]
    assert labels.tolist() == [1, 0, 2]
    ids, lengths, _ = collate_padded(batch, pad_index=-1)
    assert ids.tolist() == [[4, 5, 6], [7, -1, -1], [8, 9, -1]]


def test_collate_max_len_keeps_first_tokens() -> None:
    ids, lengths, _ = collate_padded([([1, 2, 3, 4], 0), ([5], 1)], max_len=2)
    assert ids.tolist() == [[1, 2], [5, 0]]
    assert lengths.tolist() == [2, 1]
    ids, _, _ = collate_padded([([1, 2], 0)], max_len=10)
    assert ids.shape == (1, 2)  # padded to the batch's longest, not to max_len


def test_pad_batch_without_labels() -> None:
    ids, lengths = pad_batch([np.array([3, 4]), (5,)], pad_index=9)
    assert ids.tolist() == [[3, 4], [5, 9]] and lengths.tolist() == [2, 1]


def test_collate_errors_name_the_position() -> None:
    with pytest.raises(ValueError, match="collate_padded: sequence at position 1 is empty"):
        collate_padded([([1], 0), ([], 1)])
    with pytest.raises(ValueError, match="pad_batch: sequence at position 0 is empty"):
        pad_batch([[]])
    with pytest.raises(ValueError, match=r"label at position 1 must be an integer.*pad_batch"):
        collate_padded([([1], 0), ([2], [0, 1])])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"item at position 0 must be a \(token_ids, label\)"):
        collate_padded([[1, 2, 3]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="sequence at position 0 must hold integer token ids"):
        pad_batch([["a", "b"]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="sequence at position 0 must be 1-D"):
        pad_batch([[[1, 2]]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="the batch is empty"):
        collate_padded([])
    with pytest.raises(ValueError, match="max_len must be an integer >= 1, got 0"):
        collate_padded([([1], 0)], max_len=0)


def test_with_a_dataloader() -> None:
    rng = np.random.default_rng(0)
    lengths = skewed_lengths(50)
    data = [(rng.integers(1, 100, n).tolist(), i % 3) for i, n in enumerate(lengths)]
    sampler = BucketBatchSampler(lengths, 8, seed=3)
    loader: DataLoader[tuple[list[int], int]] = DataLoader(
        data,  # type: ignore[arg-type]  # a list is a map-style dataset
        batch_sampler=sampler,
        collate_fn=functools.partial(collate_padded, max_len=40),
    )
    seen = 0
    for ids, lens, labels in loader:
        assert ids.shape == (len(lens), int(lens.max())) and labels.shape == lens.shape
        mask = torch.arange(ids.shape[1]) < lens[:, None]
        assert (ids[mask] > 0).all() and (ids[~mask] == 0).all()
        seen += len(lens)
    assert seen == 50


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.text.batching, report=False)
    assert result.attempted > 0 and result.failed == 0
