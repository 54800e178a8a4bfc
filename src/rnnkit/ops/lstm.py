"""LSTM, plain, with peepholes, with a projection: whole-sequence forward, hand-written BPTT,
autograd glue.

Gate order i, f, g, o (torch's). With ``a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh``::

    i = σ(a_i + w_ci ⊙ c_{t-1})     f = σ(a_f + w_cf ⊙ c_{t-1})     g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(a_o + w_co ⊙ c_t)         r_t = o ⊙ tanh(c_t)
    h_t = r_t                       (no projection)
    h_t = W_hr r_t                  (projection, Sak et al. 2014: torch's proj_size)

The peephole terms (``w_ch`` = [w_ci; w_cf; w_co], shape (3H,)) are absent for the plain LSTM.
With a projection ``w_hr`` (P, H), h_t, the output and the recurrent input are P-dimensional
(``w_hh`` (4H, P), ``h0`` (B, P)), the cell state stays H-dimensional. The step classes compute
r_t as they compute h_t without one; the projection is one more product per step, after them,
and in the backward the gradient reaching r_t is split by linearity: the outputs' part for all
steps in one product before the loop, the recurrent carry's part per step.
Sequences are packed rows (see :mod:`rnnkit.ops._packed`). The matrix products run in torch (each
step's through :class:`~rnnkit.ops._step_matmul.StepMatmul`, oneDNN's where it is faster); the
element-wise work of each step runs in torch ops, a Triton kernel or a C kernel (``step_impl``,
see :mod:`rnnkit.ops._step_impl`), through the step classes below and their twins in
:mod:`rnnkit.ops.triton.lstm` and :mod:`rnnkit.ops.cpu.lstm`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from rnnkit.ops._autograd import load_cache, refuse_double_backward, save_cache
from rnnkit.ops._compile import opaque_to_compile
from rnnkit.ops._packed import final_rows, is_dense, previous_rows, set_final_rows, step_offsets
from rnnkit.ops._step_impl import StepImpl, resolve_step_impl
from rnnkit.ops._step_matmul import StepMatmul
from rnnkit.ops._zoneout import ZoneoutSplit, zone


class LSTMCache(NamedTuple):
    """What :func:`lstm_backward` needs, all packed rows."""

    x: Tensor  # (N, I)
    h0: Tensor  # (B, P), P = H without a projection
    c0: Tensor  # (B, H)
    acts: Tensor  # (N, 4H) gate activations i, f, g, o
    cells: Tensor  # (N, H) c_t
    tanh_cells: Tensor  # (N, H) tanh(c_t)
    out: Tensor  # (N, P) h_t (r_t = o ⊙ tanh(c_t) is not kept: recomputed from acts, tanh_cells)
    w_ih: Tensor
    w_hh: Tensor
    w_ch: Tensor | None
    w_hr: Tensor | None
    has_bias: bool
    batch_sizes: tuple[int, ...]
    keep_h: Tensor | None = None  # (N, H) zoneout's keep weights of h, None without zoneout
    keep_c: Tensor | None = None  # (N, H) and of c
    zoned_cells: Tensor | None = None  # (N, H) c_t = m ⊙ c_{t-1} + (1 − m) ⊙ c̃_t (cells: c̃_t)


class LSTMGrads(NamedTuple):
    """Gradients of every input of :func:`lstm_forward` (None where it has none)."""

    x: Tensor | None
    h0: Tensor
    c0: Tensor
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    w_ch: Tensor | None
    w_hr: Tensor | None


def lstm_forward(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    w_ch: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    w_hr: Tensor | None = None,
    zoneout: tuple[Tensor, Tensor] | None = None,
    step_impl: StepImpl | None = None,
) -> tuple[tuple[Tensor, Tensor, Tensor], LSTMCache]:
    """Run an LSTM layer over packed sequences.

    Args:
        x: (N, I) packed input rows. h0: (B, P), c0: (B, H) initial state (P = H without a
            projection).
        w_ih: (4H, I), w_hh: (4H, P), b_ih, b_hh: (4H,) or None, w_ch: (3H,) or None.
        batch_sizes: sequences running at each step, non-increasing, summing to N.
        w_hr: the projection (P, H), or None (the default) for none.
        zoneout: (N, H) keep weights of h and of c (see :mod:`rnnkit.ops._zoneout`), or None;
            not with a projection.
        step_impl: "torch", "triton", "c", or None for the default (see
            :mod:`rnnkit.ops._step_impl`).
    Returns:
        ((out (N, P), h_n (B, P), c_n (B, H)), cache).
    """
    if zoneout is not None and w_hr is not None:
        raise ValueError("lstm_forward: zoneout with a projection (w_hr) runs in lstm_loop only")
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    acts = (  # (N, 4H): pre-activations, overwritten in place by the activations step by step
        torch.addmm(b_ih + b_hh, x, w_ih.t())
        if b_ih is not None and b_hh is not None
        else x @ w_ih.t()
    )
    cells = x.new_empty(x.shape[0], w_hh.shape[0] // 4)  # (N, H) c_t
    tanh_cells = torch.empty_like(cells)  # (N, H) tanh(c_t)
    # (N, H) r_t = o ⊙ tanh(c_t), written by the steps: h_t itself without a projection, else a
    # scratch buffer projected step by step into out (N, P)
    rs = torch.empty_like(cells)
    out = rs if w_hr is None else x.new_empty(x.shape[0], w_hr.shape[0])
    step = _forward_steps(step_impl, acts, cells, tanh_cells, rs, w_ch, sizes)
    a_s, recurrent = acts.split(sizes), StepMatmul(w_hh.t(), sizes)
    if w_hr is None:
        projection, out_s = None, ()
    else:
        projection, out_s = StepMatmul(w_hr.t(), sizes), out.split(sizes)
    keep_h, keep_c = (None, None) if zoneout is None else zoneout
    zoned = None if zoneout is None else torch.empty_like(cells)  # (N, H) c_t, zoned
    if keep_h is not None and keep_c is not None and zoned is not None:
        kh_s, kc_s, zoned_s = keep_h.split(sizes), keep_c.split(sizes), zoned.split(sizes)
    h, c = h0, c0
    for t, size in enumerate(sizes):
        h_prev, c_prev = (h[:size], c[:size]) if ragged else (h, c)
        recurrent.add_to(a_s[t], h_prev)  # (b, 4H) pre-activations of step t
        h, c = step(t, c_prev)  # h: r_t, a view of rs
        if projection is not None:
            projection.write(out_s[t], h)  # h_t = r_t W_hrᵀ
            h = out_s[t]
        if zoned is not None:  # h over h̃_t in its rows; c̃_t stays in cells for the peepholes
            h, c = h.lerp_(h_prev, kh_s[t]), zone(c, c_prev, kc_s[t], out=zoned_s[t])
    states = cells if zoned is None else zoned
    outputs = (out, final_rows(out, batch_sizes), final_rows(states, batch_sizes))
    cache = LSTMCache(
        x, h0, c0, acts, cells, tanh_cells, out, w_ih, w_hh, w_ch, w_hr,
        b_ih is not None, tuple(batch_sizes), keep_h, keep_c, zoned,
    )  # fmt: skip
    return outputs, cache


def lstm_backward(
    grad_out: Tensor,
    grad_h_n: Tensor,
    grad_c_n: Tensor,
    cache: LSTMCache,
    *,
    need_input_grad: bool = True,
    step_impl: StepImpl | None = None,
) -> LSTMGrads:
    """Backpropagation through time for :func:`lstm_forward`.

    Args:
        grad_out: (N, P), grad_h_n: (B, P), grad_c_n: (B, H) upstream gradients (P = H
            without a projection).
        step_impl: "torch", "triton", "c", or None for the default (see
            :mod:`rnnkit.ops._step_impl`).
    Returns:
        the gradient of every input, same shapes; ``x`` is None unless ``need_input_grad``.
    """
    x, h0, c0, acts, cells, tanh_cells, out = cache[:7]
    w_ih, w_hh, w_ch, w_hr = cache.w_ih, cache.w_hh, cache.w_ch, cache.w_hr
    batch_sizes = cache.batch_sizes
    H = w_hh.shape[0] // 4
    sizes = list(batch_sizes)
    states = cells if cache.zoned_cells is None else cache.zoned_cells
    c_prev = previous_rows(c0, states, batch_sizes)  # (N, H)
    grad_acts = torch.empty_like(acts)  # (N, 4H)
    grad_out = grad_out.contiguous()
    zoneout = None
    if cache.keep_h is not None and cache.keep_c is not None:
        zoneout = (ZoneoutSplit(cache.keep_h, sizes, grad_out), ZoneoutSplit(cache.keep_c, sizes))
        grad_out = zoneout[0].fresh(grad_out)
    # with a projection the steps get the outputs' part of r_t's gradient: g_t W_hr, all at once
    step = _backward_steps(
        step_impl, grad_out if w_hr is None else grad_out @ w_hr, acts, tanh_cells, c_prev, w_ch,
        grad_acts, sizes,
    )  # fmt: skip
    dc_carry = grad_c_n.clone(memory_format=torch.contiguous_format)  # (B, H)
    grad_w_hr = None
    if w_hr is None:
        grad_h0 = _bptt(step, grad_acts, w_hh, grad_h_n, dc_carry, batch_sizes, zoneout)
    else:
        grad_h0, grad_w_hr = _bptt_projected(
            step, grad_out, acts, tanh_cells, grad_acts, w_hh, w_hr, grad_h_n, dc_carry,
            batch_sizes,
        )  # fmt: skip
    h_prev = previous_rows(h0, out, batch_sizes)  # (N, P)
    grad_b = grad_acts.sum(0) if cache.has_bias else None
    grad_w_ch = None
    if w_ch is not None:
        da_i, da_f, _, da_o = grad_acts.split(H, dim=1)
        grad_w_ch = torch.cat(
            [(da_i * c_prev).sum(0), (da_f * c_prev).sum(0), (da_o * cells).sum(0)]
        )
    return LSTMGrads(
        x=grad_acts @ w_ih if need_input_grad else None,
        h0=grad_h0,
        c0=dc_carry,
        w_ih=grad_acts.t() @ x,
        w_hh=grad_acts.t() @ h_prev,
        b_ih=grad_b,
        b_hh=grad_b.clone() if grad_b is not None else None,
        w_ch=grad_w_ch,
        w_hr=grad_w_hr,
    )


def _bptt(
    step: LSTMBackwardSteps,
    grad_acts: Tensor,
    w_hh: Tensor,
    grad_h_n: Tensor,
    dc_carry: Tensor,
    batch_sizes: Sequence[int],
    zoneout: tuple[ZoneoutSplit, ZoneoutSplit] | None = None,
) -> Tensor:
    """The backward loop without a projection: fills ``grad_acts`` step by step; ``dc_carry``
    (B, H), ∂L/∂c_n on entry, ends as ∂L/∂c_0; ``zoneout`` splits the gradients of h and c
    around each step. Returns ∂L/∂h_0 (B, H)."""
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    ga_s, recurrent = grad_acts.split(sizes), StepMatmul(w_hh, sizes)
    dh_carry = grad_h_n.clone(memory_format=torch.contiguous_format)  # (B, H)
    for t in range(len(sizes) - 1, -1, -1):
        size = sizes[t]
        dh, dc = (dh_carry[:size], dc_carry[:size]) if ragged else (dh_carry, dc_carry)
        if zoneout is not None:
            skipped_h, skipped_c = zoneout[0].split(t, dh), zoneout[1].split(t, dc)
        step(t, dh, dc)
        recurrent.write(dh, ga_s[t])
        if zoneout is not None:
            dh.add_(skipped_h)
            dc.add_(skipped_c)
    return dh_carry


def _bptt_projected(
    step: LSTMBackwardSteps,
    grad_out: Tensor,
    acts: Tensor,
    tanh_cells: Tensor,
    grad_acts: Tensor,
    w_hh: Tensor,
    w_hr: Tensor,
    grad_h_n: Tensor,
    dc_carry: Tensor,
    batch_sizes: Sequence[int],
) -> tuple[Tensor, Tensor]:
    """The backward loop with the projection h_t = r_t W_hrᵀ: as :func:`_bptt`, where r_t's
    gradient is (g_t + d_t) W_hr, g_t the output's (``grad_out`` (N, P)) and d_t the carry from
    step t + 1 or from h_n. The step classes add their ``grad_out`` rows to the carry they are
    given: ``step`` was built on g W_hr (all steps in one product), and gets d_t W_hr (one
    product per step). Returns (∂L/∂h_0 (B, P), ∂L/∂W_hr (P, H) = Σ_t (g_t + d_t)ᵀ r_t, one
    product over all rows)."""
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    H = w_hh.shape[0] // 4
    carries = torch.empty_like(grad_out)  # (N, P): d_t of every row
    set_final_rows(carries, grad_h_n, batch_sizes)  # the others are written below
    d_s, ga_s = carries.split(sizes), grad_acts.split(sizes)
    recurrent, projection = StepMatmul(w_hh, sizes), StepMatmul(w_hr, sizes)
    grad_h0 = grad_out.new_empty(sizes[0], w_hr.shape[0])  # (B, P)
    dr_carry = dc_carry.new_empty(dc_carry.shape)  # (B, H): d_t W_hr
    for t in range(len(sizes) - 1, -1, -1):
        size = sizes[t]
        dr, dc = (dr_carry[:size], dc_carry[:size]) if ragged else (dr_carry, dc_carry)
        projection.write(dr, d_s[t])
        step(t, dr, dc)
        recurrent.write(d_s[t - 1][:size] if t else grad_h0, ga_s[t])
    rs = acts[:, 3 * H :] * tanh_cells  # (N, H) r_t = o ⊙ tanh(c_t)
    return grad_h0, carries.add_(grad_out).t() @ rs


# --- the element-wise work of each step -----------------------------------------------------------


class LSTMForwardSteps(Protocol):
    """Each forward step's element-wise work, on the whole-sequence buffers it was built on."""

    def __call__(self, t: int, c_prev: Tensor) -> tuple[Tensor, Tensor]:
        """Step ``t``: its ``acts`` rows, pre-activations with the recurrent product added, become
        the gate activations; c_t, tanh(c_t) and o ⊙ tanh(c_t) (h_t, or r_t before a projection)
        fill their rows. c_prev (b, H) is c_{t-1}. Returns (o ⊙ tanh(c_t), c_t), (b, H) views of
        ``out`` and ``cells``."""
        ...


class LSTMBackwardSteps(Protocol):
    """Each backward step's element-wise work, on the whole-sequence buffers it was built on."""

    def __call__(self, t: int, dh: Tensor, dc: Tensor) -> None:
        """Step ``t``: fills its ``grad_acts`` rows from dh, the gradient reaching h_t (r_t before
        a projection) from step t + 1 (read, then free to overwrite), plus its ``grad_out`` rows,
        and dc, the one reaching c_t; dc becomes the gradient of c_{t-1}. Both (b, H),
        b = sizes[t]."""
        ...


class TorchLSTMForward:
    """:class:`LSTMForwardSteps` in torch ops, on per-step views made once."""

    def __init__(
        self,
        acts: Tensor,  # (N, 4H) gate pre-activations, turned into activations step by step
        cells: Tensor,  # (N, H) c_t, written
        tanh_cells: Tensor,  # (N, H) tanh(c_t), written
        out: Tensor,  # (N, H) o ⊙ tanh(c_t), written: h_t, or r_t before a projection
        w_ch: Tensor | None,  # (3H,) peephole weights
        sizes: list[int],
    ) -> None:
        H = cells.shape[1]
        gates = (acts[:, k * H : (k + 1) * H] for k in range(4))
        self.i_s, self.f_s, self.g_s, self.o_s = (t.split(sizes) for t in gates)
        self.if_s = acts[:, : 2 * H].split(sizes)  # i and f: one sigmoid
        self.c_s, self.tc_s, self.h_s = (t.split(sizes) for t in (cells, tanh_cells, out))
        self.w_ch = w_ch
        if w_ch is not None:
            self.w_cif, self.w_co = w_ch[: 2 * H].view(2, H), w_ch[2 * H :]
            self.peek_s = acts.view(-1, 4, H)[:, :2].split(sizes)  # (b, 2, H): a_i, a_f

    def __call__(self, t: int, c_prev: Tensor) -> tuple[Tensor, Tensor]:
        if self.w_ch is not None:
            self.peek_s[t].addcmul_(c_prev.unsqueeze(1), self.w_cif)
        self.if_s[t].sigmoid_()
        g = self.g_s[t].tanh_()
        c = torch.mul(self.f_s[t], c_prev, out=self.c_s[t]).addcmul_(self.i_s[t], g)
        o = self.o_s[t]
        if self.w_ch is not None:
            o.addcmul_(c, self.w_co)
        h = torch.mul(o.sigmoid_(), torch.tanh(c, out=self.tc_s[t]), out=self.h_s[t])
        return h, c


class TorchLSTMBackward:
    """:class:`LSTMBackwardSteps` in torch ops; what does not depend on the upstream gradient is
    computed for all steps at once: dA_o = dh ⊙ P, dc += dh ⊙ K, (dA_i, dA_f, dA_g) = dc ⊙ M,
    dc_{t-1} = dc ⊙ F."""

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
        H = tanh_cells.shape[1]
        i, f, g, o = acts.split(H, dim=1)  # (N, H) each
        d_o = o * (1 - o)
        P = tanh_cells * d_o
        K = o * (1 - tanh_cells * tanh_cells)
        gate_i, gate_f = g * i * (1 - i), c_prev * f * (1 - f)
        M = torch.cat([gate_i, gate_f, i * (1 - g * g)], dim=1)  # (N, 3H)
        F = f
        if w_ch is not None:
            w_ci, w_cf, w_co = w_ch.split(H)
            K = K + P * w_co
            F = f + gate_i * w_ci + gate_f * w_cf
        self.go_s = grad_acts[:, 3 * H :].split(sizes)
        self.gifg_s = grad_acts[:, : 3 * H].view(-1, 3, H).split(sizes)  # (b, 3, H)
        self.gout_s, self.K_s, self.P_s, self.F_s = (t.split(sizes) for t in (grad_out, K, P, F))
        self.M_s = M.view(-1, 3, H).split(sizes)

    def __call__(self, t: int, dh: Tensor, dc: Tensor) -> None:
        dh.add_(self.gout_s[t])
        dc.addcmul_(dh, self.K_s[t])
        torch.mul(dh, self.P_s[t], out=self.go_s[t])
        torch.mul(self.M_s[t], dc.unsqueeze(1), out=self.gifg_s[t])
        dc.mul_(self.F_s[t])


def _forward_steps(
    step_impl: StepImpl | None,
    acts: Tensor,
    cells: Tensor,
    tanh_cells: Tensor,
    out: Tensor,
    w_ch: Tensor | None,
    sizes: list[int],
) -> LSTMForwardSteps:
    impl = resolve_step_impl(step_impl, acts)
    if impl == "triton":
        from rnnkit.ops.triton.lstm import TritonLSTMForward

        return TritonLSTMForward(acts, cells, tanh_cells, out, w_ch, sizes)
    if impl == "c":
        from rnnkit.ops.cpu.lstm import CpuLSTMForward

        return CpuLSTMForward(acts, cells, tanh_cells, out, w_ch, sizes)
    return TorchLSTMForward(acts, cells, tanh_cells, out, w_ch, sizes)


def _backward_steps(
    step_impl: StepImpl | None,
    grad_out: Tensor,
    acts: Tensor,
    tanh_cells: Tensor,
    c_prev: Tensor,
    w_ch: Tensor | None,
    grad_acts: Tensor,
    sizes: list[int],
) -> LSTMBackwardSteps:
    args = (grad_out, acts, tanh_cells, c_prev, w_ch, grad_acts, sizes)
    impl = resolve_step_impl(step_impl, acts)
    if impl == "triton":
        from rnnkit.ops.triton.lstm import TritonLSTMBackward

        return TritonLSTMBackward(*args)
    if impl == "c":
        from rnnkit.ops.cpu.lstm import CpuLSTMBackward

        return CpuLSTMBackward(*args)
    return TorchLSTMBackward(*args)


# --- autograd glue and the per-step twin ----------------------------------------------------------


class LSTMFunction(torch.autograd.Function):
    """Autograd glue: calls :func:`lstm_forward` and :func:`lstm_backward`, nothing else."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        w_ch: Tensor | None,
        w_hr: Tensor | None,
        batch_sizes: tuple[int, ...],
        zoneout: tuple[Tensor, Tensor] | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        outputs, cache = lstm_forward(
            x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, batch_sizes, w_hr=w_hr, zoneout=zoneout
        )
        save_cache(ctx, cache)
        return outputs

    @staticmethod
    def backward(
        ctx: Any, grad_out: Tensor, grad_h_n: Tensor, grad_c_n: Tensor
    ) -> tuple[Tensor | None, ...]:
        refuse_double_backward("rnnkit's fused LSTM")
        cache = load_cache(ctx)
        grads = lstm_backward(
            grad_out, grad_h_n, grad_c_n, cache, need_input_grad=ctx.needs_input_grad[0]
        )
        return (*grads, None, None)


@opaque_to_compile
def lstm_fused(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    w_ch: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    w_hr: Tensor | None = None,
    zoneout: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Differentiable LSTM layer over packed rows: (out (N, P), h_n (B, P), c_n (B, H)), P = H
    without a projection ``w_hr`` (P, H); ``zoneout`` (N, H) keep weights of h and of c, or None
    (see :mod:`rnnkit.ops._zoneout`; not with a projection)."""
    result: tuple[Tensor, Tensor, Tensor] = LSTMFunction.apply(
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, w_hr, tuple(batch_sizes), zoneout
    )
    return result


def lstm_cell(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    w_ch: Tensor | None,
    *,
    w_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step with plain autograd ops: x (B, I), h (B, P), c (B, H) -> (h', c'); P = H
    without a projection ``w_hr`` (P, H), h' = W_hr (o ⊙ tanh(c')) with one."""
    a_i, a_f, a_g, a_o = (
        torch.nn.functional.linear(x, w_ih, b_ih) + torch.nn.functional.linear(h, w_hh, b_hh)
    ).chunk(4, dim=1)
    if w_ch is not None:
        w_ci, w_cf, w_co = w_ch.chunk(3)
        a_i = a_i + w_ci * c
        a_f = a_f + w_cf * c
    c_new = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
    if w_ch is not None:
        a_o = a_o + w_co * c_new
    h_new = torch.sigmoid(a_o) * torch.tanh(c_new)
    if w_hr is not None:
        h_new = torch.nn.functional.linear(h_new, w_hr)
    return h_new, c_new


def lstm_loop(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    w_ch: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    w_hr: Tensor | None = None,
    zoneout: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The readable twin of :func:`lstm_fused`: :func:`lstm_cell` per step, autograd for BPTT."""
    offsets = step_offsets(batch_sizes)
    h, c, outs, cells = h0, c0, [], []
    for t, size in enumerate(batch_sizes):
        h_prev, c_prev = h[:size], c[:size]
        h, c = lstm_cell(
            x[offsets[t] : offsets[t + 1]], h_prev, c_prev, w_ih, w_hh, b_ih, b_hh, w_ch,
            w_hr=w_hr,
        )  # fmt: skip
        if zoneout is not None:
            rows = slice(offsets[t], offsets[t + 1])
            h, c = zone(h, h_prev, zoneout[0][rows]), zone(c, c_prev, zoneout[1][rows])
        outs.append(h)
        cells.append(c)
    out = torch.cat(outs)
    return out, final_rows(out, batch_sizes), final_rows(torch.cat(cells), batch_sizes)
