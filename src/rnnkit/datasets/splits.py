"""Seeded hold-out splits: stratified by label (labelled texts) or plain (tagged sentences)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

from rnnkit.datasets.base import Example

__all__ = ["check_fractions", "random_split", "stratified_parts", "stratified_split"]

T = TypeVar("T")


def check_fractions(where: str, fractions: Mapping[str, float]) -> None:
    """Each share in [0, 1) and, where there are several, their sum below 1 (something must be
    left to train on); else one ``ValueError`` line naming them, prefixed with ``where``.

    >>> check_fractions("data", {"val_fraction": 0.5, "test_fraction": 0.5})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: data: val_fraction + test_fraction must be below 1 (the rest is the ...
    """
    for name, value in fractions.items():
        if not 0.0 <= value < 1.0:  # NaN fails too
            raise ValueError(f"{where}: {name} must be in [0, 1), got {value}")
    if len(fractions) > 1 and sum(fractions.values()) >= 1.0:
        raise ValueError(
            f"{where}: {' + '.join(fractions)} must be below 1 (the rest is the training "
            f"split), got {' + '.join(str(v) for v in fractions.values())}"
        )


def stratified_split(
    examples: Sequence[Example], fraction: float, *, seed: int
) -> tuple[list[Example], list[Example]]:
    """Hold out ``fraction`` of ``examples``, the same fraction of every label.

    For each label (in sorted order) with ``n`` examples, ``floor(fraction * n + 0.5)`` of them,
    drawn at random, are held out, but never all of them: a label with ``n >= 1`` keeps at least
    one example in ``rest``. Each label's held-out count is thus within one example of
    ``fraction * n``, and the total within one example per label of ``fraction * len(examples)``.
    Both parts come back in a shuffled order. The same ``examples``, ``fraction`` and ``seed``
    always give the same two lists (NumPy's PCG64 generator, seeded with ``seed``).

    Args:
        examples: the examples to split; not modified.
        fraction: the share to hold out, in (0, 1).
        seed: the random seed.

    Returns:
        ``(rest, held_out)``: disjoint, and together every example of ``examples`` exactly once.

    >>> data = [Example(f"text {i}", "a" if i % 2 else "b") for i in range(20)]
    >>> rest, held_out = stratified_split(data, 0.2, seed=0)
    >>> len(rest), len(held_out), sorted(e.label for e in held_out)
    (16, 4, ['a', 'a', 'b', 'b'])
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"stratified_split: fraction must be in (0, 1), got {fraction}")
    rest, held_out = stratified_parts(examples, (fraction,), seed=seed)
    return rest, held_out


def stratified_parts(
    examples: Sequence[Example], fractions: Sequence[float], *, seed: int
) -> list[list[Example]]:
    """Hold out shares of ``examples``, each the same share of every label:
    ``[rest, part_1, ..., part_k]``, one part per fraction (a train / test / val split is
    ``stratified_parts(examples, (test, val), seed=s)``).

    For each label (in sorted order) with ``n`` examples, part ``i`` takes
    ``floor(fractions[i] * n + 0.5)`` of them, drawn as consecutive runs of one seeded
    permutation of the label's examples, but the parts never take all of them: a part is cut
    short so that ``rest`` keeps at least one example of every label (earlier parts come first).
    Every list comes back in a shuffled order. The same ``examples``, ``fractions`` and ``seed``
    always give the same lists (NumPy's PCG64 generator, seeded with ``seed``); with one
    fraction this is exactly :func:`stratified_split`.

    Args:
        examples: the examples to split; not modified.
        fractions: the share of each part, each in [0, 1), together below 1 (a part of share 0
            is empty).
        seed: the random seed.

    Returns:
        ``[rest, *parts]``: disjoint, and together every example of ``examples`` exactly once.

    >>> data = [Example(f"text {i}", "a" if i % 2 else "b") for i in range(20)]
    >>> rest, test, val = stratified_parts(data, (0.2, 0.1), seed=0)
    >>> len(rest), len(test), len(val), sorted(e.label for e in test)
    (14, 4, 2, ['a', 'a', 'b', 'b'])
    """
    if any(not 0.0 <= f < 1.0 for f in fractions) or sum(fractions) >= 1.0:
        raise ValueError(
            "stratified_parts: fractions must each be in [0, 1) and sum below 1, got "
            f"{list(fractions)}"
        )
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        by_label.setdefault(example.label, []).append(index)
    rest: list[int] = []
    parts: list[list[int]] = [[] for _ in fractions]
    for label in sorted(by_label):
        indices = by_label[label]
        n = len(indices)
        order = rng.permutation(n)
        start = 0
        for part, fraction in zip(parts, fractions, strict=True):
            count = max(0, min(math.floor(fraction * n + 0.5), n - 1 - start))
            part.extend(indices[i] for i in order[start : start + count])
            start += count
        rest.extend(indices[i] for i in order[start:])
    shuffled = []
    for chosen in (rest, *parts):
        chosen_order = rng.permutation(len(chosen))
        shuffled.append([examples[chosen[i]] for i in chosen_order])
    return shuffled


def random_split(items: Sequence[T], fractions: Sequence[float], *, seed: int) -> list[list[T]]:
    """Hold out shares of ``items`` at random: ``[rest, part_1, ..., part_k]``, one part per
    fraction.

    Part ``i`` holds ``floor(fractions[i] * n + 0.5)`` items, but the parts never take every
    item: a part is cut short so that ``rest`` keeps at least one (when ``n >= 1``). The parts are
    consecutive runs of one seeded permutation of ``range(n)`` (NumPy's PCG64 generator seeded
    with ``seed``), so they are disjoint and, with ``rest``, hold every item exactly once. Each
    list keeps the order the items have in ``items``.

    Args:
        items: the items to split; not modified.
        fractions: the share of each held-out part, each in [0, 1), together below 1.
        seed: the random seed.

    >>> rest, val, test = random_split(list(range(10)), (0.2, 0.1), seed=0)
    >>> len(rest), len(val), len(test), sorted(rest + val + test) == list(range(10))
    (7, 2, 1, True)
    """
    if any(not 0.0 <= f < 1.0 for f in fractions) or sum(fractions) >= 1.0:
        raise ValueError(
            f"random_split: fractions must each be in [0, 1) and sum below 1, got {list(fractions)}"
        )
    n = len(items)
    order = np.random.default_rng(seed).permutation(n)
    parts: list[list[T]] = []
    start = 0
    for fraction in fractions:
        count = max(0, min(math.floor(fraction * n + 0.5), n - 1 - start))
        parts.append([items[i] for i in sorted(order[start : start + count])])
        start += count
    rest = [items[i] for i in sorted(order[start:])]
    return [rest, *parts]
