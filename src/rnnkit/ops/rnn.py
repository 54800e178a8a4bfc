"""Elman RNN: whole-sequence forward, hand-written BPTT, autograd glue.

    h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   f = tanh or relu

Sequences are packed rows (see :mod:`rnnkit.ops._packed`). The matrix products run in torch (each
step's through :class:`~rnnkit.ops._step_matmul.StepMatmul`, oneDNN's where it is faster); the
element-wise work of each step runs in torch ops or in a Triton kernel (``step_impl``, see
:mod:`rnnkit.ops._step_impl`), through the step classes below and their twins in
:mod:`rnnkit.ops.triton.rnn`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.ops._autograd import load_cache, refuse_double_backward, save_cache
from rnnkit.ops._compile import opaque_to_compile
from rnnkit.ops._packed import final_rows, is_dense, previous_rows, step_offsets
from rnnkit.ops._step_impl import StepImpl, resolve_step_impl
from rnnkit.ops._step_matmul import StepMatmul
from rnnkit.ops._zoneout import ZoneoutSplit, zone

NONLINEARITIES = ("tanh", "relu")


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs, all packed rows."""

    x: Tensor  # (N, I)
    h0: Tensor  # (B, H)
    out: Tensor  # (N, H) the cell's h_t (h̃_t with zoneout)
    w_ih: Tensor
    w_hh: Tensor
    has_bias: bool
    nonlinearity: str
    batch_sizes: tuple[int, ...]
    keep: Tensor | None = None  # (N, H) zoneout's keep weights, None without zoneout
    zoned: Tensor | None = None  # (N, H) h_t = m ⊙ h_{t-1} + (1 − m) ⊙ h̃_t with zoneout


class RNNGrads(NamedTuple):
    """Gradients of every input of :func:`rnn_forward` (None where it has none)."""

    x: Tensor | None
    h0: Tensor
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None


def rnn_forward(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    nonlinearity: str = "tanh",
    zoneout: Tensor | None = None,
    step_impl: StepImpl | None = None,
) -> tuple[tuple[Tensor, Tensor], RNNCache]:
    """Run an Elman RNN layer over packed sequences.

    Args:
        x: (N, I) packed input rows. h0: (B, H).
        w_ih: (H, I), w_hh: (H, H), b_ih, b_hh: (H,) or None.
        batch_sizes: sequences running at each step, non-increasing, summing to N.
        zoneout: (N, H) keep weights of h (see :mod:`rnnkit.ops._zoneout`), or None.
        step_impl: "torch", "triton", "c" (runs torch: the step is one op), or None.
    Returns:
        ((out (N, H), h_n (B, H)), cache).
    """
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    bias = b_ih + b_hh if b_ih is not None and b_hh is not None else None
    out = F.linear(x, w_ih, bias)  # (N, H): pre-activations, turned into h_t step by step
    step = _forward_steps(step_impl, out, sizes, nonlinearity)
    a_s, recurrent = out.split(sizes), StepMatmul(w_hh.t(), sizes)
    zoned = None if zoneout is None else torch.empty_like(out)  # (N, H) h_t, zoned
    if zoneout is not None and zoned is not None:
        keep_s, zoned_s = zoneout.split(sizes), zoned.split(sizes)
    h = h0
    for t, size in enumerate(sizes):
        h_prev = h[:size] if ragged else h  # (b, H)
        recurrent.add_to(a_s[t], h_prev)
        h = step(t)
        if zoned is not None:
            h = zone(h, h_prev, keep_s[t], out=zoned_s[t])
    cache = RNNCache(
        x, h0, out, w_ih, w_hh, bias is not None, nonlinearity, tuple(batch_sizes), zoneout, zoned
    )
    states = out if zoned is None else zoned
    return (states, final_rows(states, batch_sizes)), cache


def rnn_backward(
    grad_out: Tensor,
    grad_h_n: Tensor,
    cache: RNNCache,
    *,
    need_input_grad: bool = True,
    step_impl: StepImpl | None = None,
) -> RNNGrads:
    """Backpropagation through time for :func:`rnn_forward`.

    Args:
        grad_out: (N, H), grad_h_n: (B, H) upstream gradients.
        step_impl: "torch", "triton", "c" (runs torch: the step is one op), or None.
    Returns:
        the gradient of every input, same shapes; ``x`` is None unless ``need_input_grad``.
    """
    x, h0, out, w_ih, w_hh = cache[:5]
    batch_sizes = cache.batch_sizes
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    grad_acts = torch.empty_like(out)  # (N, H)
    split = None if cache.keep is None else ZoneoutSplit(cache.keep, sizes, grad_out)
    reaching = grad_out if split is None else split.fresh(grad_out)  # what the steps get
    step = _backward_steps(
        step_impl, reaching.contiguous(), out, grad_acts, sizes, cache.nonlinearity
    )
    ga_s, recurrent = grad_acts.split(sizes), StepMatmul(w_hh, sizes)
    dh_carry = grad_h_n.clone(memory_format=torch.contiguous_format)  # (B, H)
    for t in range(len(sizes) - 1, -1, -1):
        dh = dh_carry[: sizes[t]] if ragged else dh_carry  # (b, H)
        skipped = None if split is None else split.split(t, dh)
        step(t, dh)
        recurrent.write(dh, ga_s[t])
        if skipped is not None:
            dh.add_(skipped)
    grad_b = grad_acts.sum(0) if cache.has_bias else None
    states = out if cache.zoned is None else cache.zoned
    return RNNGrads(
        x=grad_acts @ w_ih if need_input_grad else None,
        h0=dh_carry,
        w_ih=grad_acts.t() @ x,
        w_hh=grad_acts.t() @ previous_rows(h0, states, batch_sizes),
        b_ih=grad_b,
        b_hh=grad_b.clone() if grad_b is not None else None,
    )


# --- the element-wise work of each step ---------------------------------------------------------


class RNNForwardSteps(Protocol):
    """Each forward step's element-wise work, on the whole-sequence buffer it was built on."""

    def __call__(self, t: int) -> Tensor:
        """Step t's ``out`` rows, pre-activations with the recurrent product added, become h_t
        in place; returns them, (b, H)."""
        ...


class RNNBackwardSteps(Protocol):
    """Each backward step's element-wise work, on the whole-sequence buffers it was built on."""

    def __call__(self, t: int, dh: Tensor) -> None:
        """Step t's ``grad_acts`` rows from dh (b, H), the gradient reaching h_t from step t + 1
        (read, then free to overwrite)."""
        ...


class TorchRNNForward:
    """:class:`RNNForwardSteps` in torch ops."""

    def __init__(self, out: Tensor, sizes: list[int], nonlinearity: str) -> None:
        self.a_s: tuple[Tensor, ...] = out.split(sizes)
        self.tanh = nonlinearity == "tanh"

    def __call__(self, t: int) -> Tensor:
        return self.a_s[t].tanh_() if self.tanh else self.a_s[t].relu_()


class TorchRNNBackward:
    """:class:`RNNBackwardSteps` in torch ops, with f'(a) computed for all steps at once."""

    def __init__(
        self,
        grad_out: Tensor,  # (N, H) upstream gradient of every h_t
        out: Tensor,  # (N, H) h_t
        grad_acts: Tensor,  # (N, H) gradient of the pre-activations, written
        sizes: list[int],
        nonlinearity: str,
    ) -> None:
        slope = 1 - out * out if nonlinearity == "tanh" else (out > 0).to(out.dtype)  # f'(a)
        self.gout_s, self.slope_s, self.ga_s = (
            t.split(sizes) for t in (grad_out, slope, grad_acts)
        )

    def __call__(self, t: int, dh: Tensor) -> None:
        torch.mul(dh.add_(self.gout_s[t]), self.slope_s[t], out=self.ga_s[t])


def _forward_steps(
    step_impl: StepImpl | None, out: Tensor, sizes: list[int], nonlinearity: str
) -> RNNForwardSteps:
    if resolve_step_impl(step_impl, out) == "triton":
        from rnnkit.ops.triton.rnn import TritonRNNForward

        return TritonRNNForward(out, sizes, nonlinearity)
    return TorchRNNForward(out, sizes, nonlinearity)


def _backward_steps(
    step_impl: StepImpl | None,
    grad_out: Tensor,
    out: Tensor,
    grad_acts: Tensor,
    sizes: list[int],
    nonlinearity: str,
) -> RNNBackwardSteps:
    if resolve_step_impl(step_impl, out) == "triton":
        from rnnkit.ops.triton.rnn import TritonRNNBackward

        return TritonRNNBackward(grad_out, out, grad_acts, sizes, nonlinearity)
    return TorchRNNBackward(grad_out, out, grad_acts, sizes, nonlinearity)


# --- autograd glue and the per-step twin ----------------------------------------------------------


class RNNFunction(torch.autograd.Function):
    """Autograd glue: calls :func:`rnn_forward` and :func:`rnn_backward`, nothing else."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        h0: Tensor,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        batch_sizes: tuple[int, ...],
        nonlinearity: str,
        zoneout: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        outputs, cache = rnn_forward(
            x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, nonlinearity=nonlinearity,
            zoneout=zoneout,
        )  # fmt: skip
        save_cache(ctx, cache)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor, grad_h_n: Tensor) -> tuple[Tensor | None, ...]:
        refuse_double_backward("rnnkit's fused RNN")
        grads = rnn_backward(
            grad_out, grad_h_n, load_cache(ctx), need_input_grad=ctx.needs_input_grad[0]
        )
        return (*grads, None, None, None)


@opaque_to_compile
def rnn_fused(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    nonlinearity: str = "tanh",
    zoneout: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Differentiable Elman RNN layer over packed rows: (out (N, H), h_n (B, H)); ``zoneout``
    (N, H) keep weights of h, or None (see :mod:`rnnkit.ops._zoneout`)."""
    result: tuple[Tensor, Tensor] = RNNFunction.apply(
        x, h0, w_ih, w_hh, b_ih, b_hh, tuple(batch_sizes), nonlinearity, zoneout
    )
    return result


def rnn_cell(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    *,
    nonlinearity: str = "tanh",
) -> Tensor:
    """One Elman step with plain autograd ops: x (B, I), h (B, H) -> h'."""
    a = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def rnn_loop(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    nonlinearity: str = "tanh",
    zoneout: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The readable twin of :func:`rnn_fused`: :func:`rnn_cell` per step, autograd for BPTT."""
    offsets = step_offsets(batch_sizes)
    h, outs = h0, []
    for t, size in enumerate(batch_sizes):
        rows = x[offsets[t] : offsets[t + 1]]
        h_prev = h[:size]
        h = rnn_cell(rows, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity=nonlinearity)
        if zoneout is not None:
            h = zone(h, h_prev, zoneout[offsets[t] : offsets[t + 1]])
        outs.append(h)
    out = torch.cat(outs)
    return out, final_rows(out, batch_sizes)
