"""GRU steps on Triton kernels: twins of :class:`rnnkit.ops.gru.TorchGRUForward` and
:class:`~rnnkit.ops.gru.TorchGRUBackward` (same constructor, same methods)."""

from __future__ import annotations

from torch import Tensor

from rnnkit.ops._packed import unit_column_stride
from rnnkit.ops.triton._launch import step_grid
from rnnkit.ops.triton.kernels import gru as kernels


class TritonGRUForward:
    """Each forward step's element-wise work: one launch with the reset gate after the
    recurrent product, two around W_hn (r ⊙ h) with it before."""

    def __init__(
        self,
        acts: Tensor,  # (N, 3H) gate pre-activations, turned into r, z, n step by step
        hidden_part: Tensor,  # (N, 3H) W_hh h + b_hh (reset after) or (N, H) r ⊙ h, written
        out: Tensor,  # (N, H) h_t, written
        sizes: list[int],
    ) -> None:
        self.a_s: tuple[Tensor, ...] = acts.split(sizes)
        self.hp_s: tuple[Tensor, ...] = hidden_part.split(sizes)
        self.h_s: tuple[Tensor, ...] = out.split(sizes)

    def reset_after(self, t: int, h_prev: Tensor) -> Tensor:
        gates, hidden, h = self.a_s[t], self.hp_s[t], self.h_s[t]
        h_prev = unit_column_stride(h_prev)
        grid, tiles = step_grid(*h.shape)
        kernels.forward_reset_after[grid](
            gates, gates.stride(0), hidden, hidden.stride(0),
            h_prev, h_prev.stride(0), h, h.stride(0), *h.shape, **tiles,
        )  # fmt: skip
        return h

    def reset_gate(self, t: int, h_prev: Tensor) -> Tensor:
        gates, rh = self.a_s[t], self.hp_s[t]
        h_prev = unit_column_stride(h_prev)
        grid, tiles = step_grid(*rh.shape)
        kernels.forward_reset_gate[grid](
            gates, gates.stride(0), h_prev, h_prev.stride(0), rh, rh.stride(0), *rh.shape, **tiles
        )
        return rh

    def update(self, t: int, h_prev: Tensor) -> Tensor:
        gates, h = self.a_s[t], self.h_s[t]
        h_prev = unit_column_stride(h_prev)
        grid, tiles = step_grid(*h.shape)
        kernels.forward_update[grid](
            gates, gates.stride(0), h_prev, h_prev.stride(0), h, h.stride(0), *h.shape, **tiles
        )
        return h


class TritonGRUBackward:
    """Each backward step's element-wise work: one launch with the reset gate after the
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
        self.gout_s, self.hprev_s = (t.contiguous().split(sizes) for t in (grad_out, h_prev))
        self.a_s, self.hn_s = acts.split(sizes), hidden_part.split(sizes)
        self.gx_s = grad_x_acts.split(sizes)
        self.gh_s = None if grad_h_acts is None else grad_h_acts.split(sizes)

    def reset_after(self, t: int, dh: Tensor) -> None:
        assert self.gh_s is not None, "reset_after needs grad_h_acts"
        acts, hidden_n, grad_x, grad_h = self.a_s[t], self.hn_s[t], self.gx_s[t], self.gh_s[t]
        h_prev = self.hprev_s[t]
        assert grad_x.stride() == grad_h.stride(), "grad_x_acts, grad_h_acts: same layout"
        grid, tiles = step_grid(*dh.shape)
        kernels.backward_reset_after[grid](
            acts, acts.stride(0), hidden_n, hidden_n.stride(0),
            h_prev, self.gout_s[t], h_prev.stride(0), dh, dh.stride(0),
            grad_x, grad_h, grad_x.stride(0), *dh.shape, **tiles,
        )  # fmt: skip

    def update(self, t: int, dh: Tensor) -> None:
        acts, grad_x, h_prev = self.a_s[t], self.gx_s[t], self.hprev_s[t]
        grid, tiles = step_grid(*dh.shape)
        kernels.backward_update[grid](
            acts, acts.stride(0), h_prev, self.gout_s[t], h_prev.stride(0),
            dh, dh.stride(0), grad_x, grad_x.stride(0), *dh.shape, **tiles,
        )  # fmt: skip

    def reset_gate(self, t: int, dh: Tensor, d_rh: Tensor) -> None:
        acts, grad_x, h_prev = self.a_s[t], self.gx_s[t], self.hprev_s[t]
        d_rh = d_rh.contiguous()
        grid, tiles = step_grid(*dh.shape)
        kernels.backward_reset_gate[grid](
            acts, acts.stride(0), h_prev, d_rh, h_prev.stride(0),
            dh, dh.stride(0), grad_x, grad_x.stride(0), *dh.shape, **tiles,
        )  # fmt: skip
