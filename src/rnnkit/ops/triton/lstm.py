"""LSTM steps on Triton kernels: twins of :class:`rnnkit.ops.lstm.TorchLSTMForward` and
:class:`~rnnkit.ops.lstm.TorchLSTMBackward` (same constructor, same call)."""

from __future__ import annotations

from torch import Tensor

from rnnkit.ops._packed import unit_column_stride
from rnnkit.ops.triton._launch import step_grid
from rnnkit.ops.triton.kernels import lstm as kernels


class TritonLSTMForward:
    """Each forward step's element-wise work in one launch of ``kernels.forward_step``."""

    def __init__(
        self,
        acts: Tensor,  # (N, 4H) gate pre-activations, turned into activations step by step
        cells: Tensor,  # (N, H) c_t, written
        tanh_cells: Tensor,  # (N, H) tanh(c_t), written
        out: Tensor,  # (N, H) h_t, written
        w_ch: Tensor | None,  # (3H,) peephole weights
        sizes: list[int],
    ) -> None:
        self.a_s, self.c_s = acts.split(sizes), cells.split(sizes)
        self.tc_s, self.h_s = tanh_cells.split(sizes), out.split(sizes)
        self.w_ch = None if w_ch is None else w_ch.contiguous()

    def __call__(self, t: int, c_prev: Tensor) -> tuple[Tensor, Tensor]:
        gates, c, h = self.a_s[t], self.c_s[t], self.h_s[t]
        c_prev = unit_column_stride(c_prev)
        grid, tiles = step_grid(*c.shape)
        kernels.forward_step[grid](
            gates, gates.stride(0), c_prev, c_prev.stride(0),
            gates if self.w_ch is None else self.w_ch,
            c, self.tc_s[t], h, c.stride(0), *c.shape,
            PEEPHOLE=self.w_ch is not None, **tiles,
        )  # fmt: skip
        return h, c


class TritonLSTMBackward:
    """Each backward step's element-wise work in one launch of ``kernels.backward_step``."""

    def __init__(
        self,
        grad_out: Tensor,  # (N, H) upstream gradient of every h_t
        acts: Tensor,  # (N, 4H) i, f, g, o
        tanh_cells: Tensor,  # (N, H)
        c_prev: Tensor,  # (N, H) c_{t-1} of every row
        w_ch: Tensor | None,  # (3H,)
        grad_acts: Tensor,  # (N, 4H) gradient of the gate pre-activations, written
        sizes: list[int],
    ) -> None:
        rows = (grad_out.contiguous(), tanh_cells.contiguous(), c_prev.contiguous())
        self.gout_s, self.tc_s, self.cp_s = (t.split(sizes) for t in rows)
        self.a_s, self.ga_s = acts.split(sizes), grad_acts.split(sizes)
        self.w_ch = None if w_ch is None else w_ch.contiguous()

    def __call__(self, t: int, dh: Tensor, dc: Tensor) -> None:
        acts, grads, tanh_c = self.a_s[t], self.ga_s[t], self.tc_s[t]
        assert dh.stride() == dc.stride() and dh.stride(1) == 1, "carries: same row-major layout"
        grid, tiles = step_grid(*tanh_c.shape)
        kernels.backward_step[grid](
            acts, acts.stride(0), grads, grads.stride(0),
            tanh_c, self.cp_s[t], self.gout_s[t], tanh_c.stride(0),
            dh, dc, dh.stride(0), acts if self.w_ch is None else self.w_ch, *tanh_c.shape,
            PEEPHOLE=self.w_ch is not None, **tiles,
        )  # fmt: skip
