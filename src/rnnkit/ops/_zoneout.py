"""Zoneout (Krueger et al. 2017) inside the whole-sequence ops.

Each unit of a state keeps its previous value with weight m, ``s_t = m ⊙ s_{t-1} + (1 − m) ⊙
s̃_t`` (s̃_t the cell's fresh value): m ~ Bernoulli(p) per unit and step in training, m = p (the
expectation) in eval. The ops take m as *keep weights*, one (N, H) tensor per state over the
packed rows, drawn by the caller (:func:`keep_weights`), so the fused op and the loop can be given
the same draw and compared.

In the backward the gradient G_t reaching a zoned state splits the same way: (1 − m_t) ⊙ G_t goes
through the cell's step, m_t ⊙ G_t straight to s_{t-1}. :class:`ZoneoutSplit` does that around
each backward step, so the step classes (torch, C, Triton) stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def keep_weights(p: float, rows: int, width: int, *, training: bool, like: Tensor) -> Tensor:
    """(rows, width) keep weights with ``like``'s dtype and device: 0/1 draws of Bernoulli(p)
    in training, p everywhere in eval."""
    if training:
        draw = torch.rand(rows, width, dtype=like.dtype, device=like.device)
        return (draw < p).to(like.dtype)
    return like.new_full((rows, width), p)


def zone(fresh: Tensor, prev: Tensor, keep: Tensor, out: Tensor | None = None) -> Tensor:
    """m ⊙ prev + (1 − m) ⊙ fresh, each (b, H); into ``out`` (may be ``fresh``) if given."""
    if out is None:
        return torch.lerp(fresh, prev, keep)
    return torch.lerp(fresh, prev, keep, out=out)


class ZoneoutSplit:
    """The backward's split of each step's gradient for one zoned state.

    Built on the keep weights m (N, H) and, for the output state, the upstream gradient of every
    output row g (N, H), which the step classes must then be built on as :meth:`fresh` (g), that
    is (1 − m) ⊙ g. :meth:`split` scales the carry d reaching the state from step t + 1 to
    (1 − m_t) ⊙ d in place and returns m_t ⊙ (d + g_t), the part that skips the step, for the
    caller to add to the carry once the step has turned it into the gradient of s_{t-1}.
    """

    def __init__(self, keep: Tensor, sizes: Sequence[int], grad_out: Tensor | None = None) -> None:
        self.free = 1 - keep  # (N, H) 1 − m
        self.keep_s, self.free_s = keep.split(list(sizes)), self.free.split(list(sizes))
        self.gout_s = None if grad_out is None else grad_out.split(list(sizes))

    def fresh(self, grad: Tensor) -> Tensor:
        """(1 − m) ⊙ grad, (N, H): the part of every row's gradient that reaches the step."""
        return self.free * grad

    def split(self, t: int, carry: Tensor) -> Tensor:
        total = carry if self.gout_s is None else carry + self.gout_s[t]
        skipped: Tensor = self.keep_s[t] * total
        carry.mul_(self.free_s[t])
        return skipped
