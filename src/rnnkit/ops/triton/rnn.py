"""Elman RNN steps on Triton kernels: twins of :class:`rnnkit.ops.rnn.TorchRNNForward` and
:class:`~rnnkit.ops.rnn.TorchRNNBackward` (same constructor, same call)."""

from __future__ import annotations

from torch import Tensor

from rnnkit.ops.triton._launch import step_grid
from rnnkit.ops.triton.kernels import rnn as kernels


class TritonRNNForward:
    """Each forward step's activation, in place, in one launch of ``kernels.forward_step``."""

    def __init__(self, out: Tensor, sizes: list[int], nonlinearity: str) -> None:
        self.a_s: tuple[Tensor, ...] = out.split(sizes)
        self.relu = nonlinearity != "tanh"

    def __call__(self, t: int) -> Tensor:
        a = self.a_s[t]
        grid, tiles = step_grid(*a.shape)
        kernels.forward_step[grid](a, a.stride(0), *a.shape, RELU=self.relu, **tiles)
        return a


class TritonRNNBackward:
    """Each backward step's element-wise work in one launch of ``kernels.backward_step``."""

    def __init__(
        self, grad_out: Tensor, out: Tensor, grad_acts: Tensor, sizes: list[int], nonlinearity: str
    ) -> None:
        rows = (grad_out.contiguous(), out.contiguous(), grad_acts)
        self.gout_s, self.h_s, self.ga_s = (t.split(sizes) for t in rows)
        self.relu = nonlinearity != "tanh"

    def __call__(self, t: int, dh: Tensor) -> None:
        h, grads = self.h_s[t], self.ga_s[t]
        assert grads.stride() == h.stride(), "grad_acts: laid out like out"
        grid, tiles = step_grid(*h.shape)
        kernels.backward_step[grid](
            h, self.gout_s[t], grads, h.stride(0), dh, dh.stride(0), *h.shape,
            RELU=self.relu, **tiles,
        )  # fmt: skip
