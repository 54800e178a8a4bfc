"""Seeded k-fold cuts of a training split, for cross-validation: which items each fold holds out.

Every function returns ``k`` lists of indices into the training items, one per fold: disjoint,
together every index exactly once, each sorted. A fold's validation items are its indices; its
training items are all the others (:func:`fold_parts`). Three ways to cut:

- :func:`kfold`: at random (sentences, sentence pairs, sequences);
- :func:`stratified_kfold`: at random within each label, so every fold holds each label's share
  (labelled texts);
- :func:`contiguous_kfold`: in ``k`` blocks of consecutive items (a token stream, whose order
  carries the context a language model learns), cut where a line ends where it can be.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeVar

import numpy as np

__all__ = ["check_folds", "contiguous_kfold", "fold_parts", "kfold", "stratified_kfold"]

T = TypeVar("T")


def check_folds(k: int, n: int) -> None:
    """``k`` ≥ 2 and no more folds than items; else one ``ValueError`` line.

    >>> check_folds(1, 10)
    Traceback (most recent call last):
    ...
    ValueError: folds: k-fold cross-validation needs k ≥ 2 folds, got 1
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"folds: k-fold cross-validation needs k ≥ 2 folds, got {k}")
    if n < k:
        raise ValueError(
            f"folds: the training split holds {n} item{'s' if n != 1 else ''}, too few for "
            f"{k} folds (each fold needs at least one)"
        )


def kfold(n: int, k: int, *, seed: int) -> list[list[int]]:
    """``k`` folds of ``range(n)`` at random: consecutive runs of one seeded permutation (NumPy's
    PCG64 generator seeded with ``seed``), sizes within one of each other.

    >>> folds = kfold(10, 3, seed=0)
    >>> [len(f) for f in folds], sorted(i for f in folds for i in f) == list(range(10))
    ([4, 3, 3], True)
    """
    check_folds(k, n)
    order = np.random.default_rng(seed).permutation(n)
    return [sorted(int(i) for i in part) for part in np.array_split(order, k)]


def stratified_kfold(labels: Sequence[str], k: int, *, seed: int) -> list[list[int]]:
    """``k`` folds of the items whose labels are ``labels``, each label dealt out evenly: every
    fold holds within one item of ``1/k`` of every label, and the fold sizes are within one of
    each other.

    The items of each label (labels in sorted order) are shuffled (one seeded permutation per
    label, NumPy's PCG64 generator seeded with ``seed``) and, one label after the other, dealt to
    the folds in turn, the deal going on where the previous label's ended.

    >>> labels = ["a"] * 6 + ["b"] * 3
    >>> folds = stratified_kfold(labels, 3, seed=0)
    >>> [sorted(labels[i] for i in f) for f in folds]
    [['a', 'a', 'b'], ['a', 'a', 'b'], ['a', 'a', 'b']]
    """
    check_folds(k, len(labels))
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    folds: list[list[int]] = [[] for _ in range(k)]
    dealt = 0
    for label in sorted(by_label):
        indices = by_label[label]
        for i in rng.permutation(len(indices)):
            folds[dealt % k].append(indices[i])
            dealt += 1
    return [sorted(fold) for fold in folds]


def contiguous_kfold(n: int, k: int, *, breaks: Collection[int] = ()) -> list[list[int]]:
    """``k`` blocks of consecutive indices of ``range(n)`` (no randomness: a stream's order is
    its content). Block ``i`` would start at ``round(i * n / k)``; where ``breaks`` holds the
    positions a block may start at (just after a line's end), it starts at the first of them at
    or after that point, as long as that leaves every block at least one item.

    >>> contiguous_kfold(10, 3)
    [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
    >>> contiguous_kfold(10, 3, breaks={5, 8})
    [[0, 1, 2, 3, 4], [5, 6, 7], [8, 9]]
    """
    check_folds(k, n)
    allowed = sorted(b for b in set(breaks) if 0 < b < n)
    starts = [0]
    for i in range(1, k):
        ideal = max(round(i * n / k), starts[-1] + 1)
        start = next((b for b in allowed if b >= ideal), ideal)
        if start > n - (k - i):  # too late: the blocks after it would have no items
            start = ideal
        starts.append(start)
    ends = [*starts[1:], n]
    return [list(range(a, b)) for a, b in zip(starts, ends, strict=True)]


def fold_parts(items: Sequence[T], fold: Collection[int]) -> tuple[list[T], list[T]]:
    """``(train, val)``: the items outside ``fold`` and the items in it, each in the order they
    have in ``items``.

    >>> fold_parts(["a", "b", "c", "d"], [1, 3])
    (['a', 'c'], ['b', 'd'])
    """
    held = set(fold)
    train = [item for i, item in enumerate(items) if i not in held]
    val = [item for i, item in enumerate(items) if i in held]
    return train, val
