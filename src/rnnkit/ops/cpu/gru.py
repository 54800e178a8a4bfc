"""GRU steps on the C kernels: twins of :class:`rnnkit.ops.gru.TorchGRUForward` and
:class:`~rnnkit.ops.gru.TorchGRUBackward` (same constructor, same methods)."""

from __future__ import annotations

from torch import Tensor

from rnnkit.ops._packed import unit_column_stride
from rnnkit.ops.cpu import kernel, step_pointers


class CpuGRUForward:
    """Each forward step's element-wise work: one kernel call with the reset gate after the
    recurrent product, two around W_hn (r ⊙ h) with it before."""

    def __init__(
        self,
        acts: Tensor,  # (N, 3H) gate pre-activations, turned into r, z, n step by step
        hidden_part: Tensor,  # (N, 3H) W_hh h + b_hh (reset after) or (N, H) r ⊙ h, written
        out: Tensor,  # (N, H) h_t, written
        sizes: list[int],
    ) -> None:
        dtype = acts.dtype
        self.after_kernel = kernel("gru_forward_reset_after", dtype)
        self.gate_kernel = kernel("gru_forward_reset_gate", dtype)
        self.update_kernel = kernel("gru_forward_update", dtype)
        self.sizes, self.H = sizes, out.shape[1]
        self.hp_s: tuple[Tensor, ...] = hidden_part.split(sizes)
        self.h_s: tuple[Tensor, ...] = out.split(sizes)
        self.buffers = (acts, hidden_part, out)  # kept alive for the pointers below
        self.a_p, self.hp_p, self.h_p = (step_pointers(t, sizes) for t in self.buffers)
        self.a_ld, self.hp_ld, self.h_ld = (t.stride(0) for t in self.buffers)

    def reset_after(self, t: int, h_prev: Tensor) -> Tensor:
        h_prev = unit_column_stride(h_prev)
        self.after_kernel(
            self.sizes[t], self.H, self.a_p[t], self.a_ld, self.hp_p[t], self.hp_ld,
            h_prev.data_ptr(), h_prev.stride(0), self.h_p[t], self.h_ld,
        )  # fmt: skip
        return self.h_s[t]

    def reset_gate(self, t: int, h_prev: Tensor) -> Tensor:
        h_prev = unit_column_stride(h_prev)
        self.gate_kernel(
            self.sizes[t], self.H, self.a_p[t], self.a_ld, h_prev.data_ptr(), h_prev.stride(0),
            self.hp_p[t], self.hp_ld,
        )  # fmt: skip
        return self.hp_s[t]

    def update(self, t: int, h_prev: Tensor) -> Tensor:
        h_prev = unit_column_stride(h_prev)
        self.update_kernel(
            self.sizes[t], self.H, self.a_p[t], self.a_ld, h_prev.data_ptr(), h_prev.stride(0),
            self.h_p[t], self.h_ld,
        )  # fmt: skip
        return self.h_s[t]


class CpuGRUBackward:
    """Each backward step's element-wise work: one kernel call with the reset gate after the
    recurrent product, two around the product with W_hn with it before."""

    def __init__(
        self,
        grad_out: Tensor,  # (N, H) upstream gradient of every h_t
        acts: Tensor,  # (N, 3H) r, z, n
        hidden_part: Tensor,  # (N, H) W_hn h + b_hn (reset after) or r ⊙ h (reset before)
        h_prev: Tensor,  # (N, H) h_{t-1} of every row
        grad_x_acts: Tensor,  # (N, 3H) gradient of W_ih x + b_ih, written
        grad_h_acts: Tensor | None,  # (N, 3H) gradient of W_hh h + b_hh (reset after), written
        sizes: list[int],
    ) -> None:
        dtype = acts.dtype
        self.after_kernel = kernel("gru_backward_reset_after", dtype)
        self.update_kernel = kernel("gru_backward_update", dtype)
        self.gate_kernel = kernel("gru_backward_reset_gate", dtype)
        self.sizes, self.H = sizes, h_prev.shape[1]
        rows = [unit_column_stride(t) for t in (grad_out, acts, hidden_part, h_prev, grad_x_acts)]
        if grad_h_acts is not None:
            assert grad_h_acts.stride() == grad_x_acts.stride(), "grad_x/h_acts: same layout"
            rows.append(grad_h_acts)
        self.buffers = tuple(rows)  # kept alive for the pointers below
        pointers = [step_pointers(t, sizes) for t in self.buffers]
        self.go_p, self.a_p, self.hp_p, self.hprev_p, self.gx_p = pointers[:5]
        self.gh_p = pointers[5] if grad_h_acts is not None else None
        self.go_ld, self.a_ld, self.hp_ld, self.hprev_ld, self.g_ld = (
            t.stride(0) for t in self.buffers[:5]
        )

    def reset_after(self, t: int, dh: Tensor) -> None:
        assert self.gh_p is not None, "reset_after needs grad_h_acts"
        self.after_kernel(
            self.sizes[t], self.H, self.go_p[t], self.go_ld, self.a_p[t], self.a_ld,
            self.hp_p[t], self.hp_ld, self.hprev_p[t], self.hprev_ld, dh.data_ptr(),
            dh.stride(0), self.gx_p[t], self.gh_p[t], self.g_ld,
        )  # fmt: skip

    def update(self, t: int, dh: Tensor) -> None:
        self.update_kernel(
            self.sizes[t], self.H, self.go_p[t], self.go_ld, self.a_p[t], self.a_ld,
            self.hprev_p[t], self.hprev_ld, dh.data_ptr(), dh.stride(0), self.gx_p[t], self.g_ld,
        )  # fmt: skip

    def reset_gate(self, t: int, dh: Tensor, d_rh: Tensor) -> None:
        d_rh = unit_column_stride(d_rh)
        self.gate_kernel(
            self.sizes[t], self.H, self.a_p[t], self.a_ld, self.hprev_p[t], self.hprev_ld,
            d_rh.data_ptr(), d_rh.stride(0), dh.data_ptr(), dh.stride(0), self.gx_p[t], self.g_ld,
        )  # fmt: skip
