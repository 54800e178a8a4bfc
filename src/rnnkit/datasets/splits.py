"""Seeded, stratified hold-out splits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rnnkit.datasets.base import Example

__all__ = ["stratified_split"]


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
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        by_label.setdefault(example.label, []).append(index)
    rest: list[int] = []
    held_out: list[int] = []
    for label in sorted(by_label):
        indices = by_label[label]
        n_held = min(math.floor(fraction * len(indices) + 0.5), len(indices) - 1)
        order = rng.permutation(len(indices))
        held_out.extend(indices[i] for i in order[:n_held])
        rest.extend(indices[i] for i in order[n_held:])
    rest_order = rng.permutation(len(rest))
    held_order = rng.permutation(len(held_out))
    return (
        [examples[rest[i]] for i in rest_order],
        [examples[held_out[i]] for i in held_order],
    )
