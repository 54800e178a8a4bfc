"""LSTM steps on the C kernels: twins of :class:`rnnkit.ops.lstm.TorchLSTMForward` and
:class:`~rnnkit.ops.lstm.TorchLSTMBackward` (same constructor, same call)."""

from __future__ import annotations

from torch import Tensor

from rnnkit.ops._packed import unit_column_stride
from rnnkit.ops.cpu import kernel, step_pointers


class CpuLSTMForward:
    """Each forward step's element-wise work in one call of ``lstm_forward``."""

    def __init__(
        self,
        acts: Tensor,  # (N, 4H) gate pre-activations, turned into activations step by step
        cells: Tensor,  # (N, H) c_t, written
        tanh_cells: Tensor,  # (N, H) tanh(c_t), written
        out: Tensor,  # (N, H) h_t, written
        w_ch: Tensor | None,  # (3H,) peephole weights
        sizes: list[int],
    ) -> None:
        self.kernel = kernel("lstm_forward", acts.dtype)
        self.sizes, self.H = sizes, cells.shape[1]
        self.c_s, self.h_s = cells.split(sizes), out.split(sizes)
        self.w_ch = None if w_ch is None else w_ch.contiguous()
        self.w_ch_ptr = None if self.w_ch is None else self.w_ch.data_ptr()
        self.buffers = (acts, cells, tanh_cells, out)  # kept alive for the pointers below
        self.a_p, self.c_p, self.tc_p, self.h_p = (step_pointers(t, sizes) for t in self.buffers)
        self.ld_acts, self.ld_out = acts.stride(0), out.stride(0)

    def __call__(self, t: int, c_prev: Tensor) -> tuple[Tensor, Tensor]:
        c_prev = unit_column_stride(c_prev)
        self.kernel(
            self.sizes[t], self.H, self.a_p[t], self.ld_acts, c_prev.data_ptr(), c_prev.stride(0),
            self.w_ch_ptr, self.c_p[t], self.tc_p[t], self.h_p[t], self.ld_out,
        )  # fmt: skip
        return self.h_s[t], self.c_s[t]


class CpuLSTMBackward:
    """Each backward step's element-wise work in one call of ``lstm_backward``."""

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
        self.kernel = kernel("lstm_backward", acts.dtype)
        self.sizes, self.H = sizes, tanh_cells.shape[1]
        self.w_ch = None if w_ch is None else w_ch.contiguous()
        self.w_ch_ptr = None if self.w_ch is None else self.w_ch.data_ptr()
        rows = (grad_out, acts, tanh_cells, c_prev, grad_acts)
        self.buffers = tuple(unit_column_stride(t) for t in rows)
        self.go_p, self.a_p, self.tc_p, self.cp_p, self.ga_p = (
            step_pointers(t, sizes) for t in self.buffers
        )
        self.go_ld, self.a_ld, self.tc_ld, self.cp_ld, self.ga_ld = (
            t.stride(0) for t in self.buffers
        )

    def __call__(self, t: int, dh: Tensor, dc: Tensor) -> None:
        assert dh.stride() == dc.stride() and dh.stride(1) == 1, "carries: same row-major layout"
        self.kernel(
            self.sizes[t], self.H, self.go_p[t], self.go_ld, self.a_p[t], self.a_ld,
            self.tc_p[t], self.tc_ld, self.cp_p[t], self.cp_ld, self.w_ch_ptr,
            dh.data_ptr(), dc.data_ptr(), dh.stride(0), self.ga_p[t], self.ga_ld,
        )  # fmt: skip
