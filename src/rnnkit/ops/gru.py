"""GRU, reset gate after or before the recurrent product: whole-sequence forward, hand-written
BPTT, autograd glue.

Gate order r, z, n (torch's). r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, and::

    reset_after=True  (torch, cuDNN):     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    reset_after=False (Cho et al. 2014):  n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Sequences are packed rows (see :mod:`rnnkit.ops._packed`). The matrix products run in torch (each
step's through :class:`~rnnkit.ops._step_matmul.StepMatmul`, oneDNN's where it is faster); the
element-wise work of each step runs in torch ops, Triton kernels or C kernels (``step_impl``,
see :mod:`rnnkit.ops._step_impl`), through the step classes below and their twins in
:mod:`rnnkit.ops.triton.gru` and :mod:`rnnkit.ops.cpu.gru`.
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


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs, all packed rows."""

    x: Tensor  # (N, I)
    h0: Tensor  # (B, H)
    acts: Tensor  # (N, 3H) activations r, z, n
    hidden_part: Tensor  # (N, H): W_hn h + b_hn (reset after) or r ⊙ h_{t-1} (reset before)
    out: Tensor  # (N, H) h_t
    w_ih: Tensor
    w_hh: Tensor
    has_bias: bool
    reset_after: bool
    batch_sizes: tuple[int, ...]
    keep: Tensor | None = None  # (N, H) zoneout's keep weights, None without zoneout


class GRUGrads(NamedTuple):
    """Gradients of every input of :func:`gru_forward` (None where it has none)."""

    x: Tensor | None
    h0: Tensor
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None


def gru_forward(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    reset_after: bool = True,
    zoneout: Tensor | None = None,
    step_impl: StepImpl | None = None,
) -> tuple[tuple[Tensor, Tensor], GRUCache]:
    """Run a GRU layer over packed sequences.

    Args:
        x: (N, I) packed input rows. h0: (B, H).
        w_ih: (3H, I), w_hh: (3H, H), b_ih, b_hh: (3H,) or None.
        batch_sizes: sequences running at each step, non-increasing, summing to N.
        zoneout: (N, H) keep weights of h (see :mod:`rnnkit.ops._zoneout`), or None.
        step_impl: "torch", "triton", "c", or None for the default (see
            :mod:`rnnkit.ops._step_impl`).
    Returns:
        ((out (N, H), h_n (B, H)), cache).
    """
    H = w_hh.shape[1]
    N = x.shape[0]
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    if reset_after:
        acts = F.linear(x, w_ih, b_ih)  # (N, 3H), W_i· x + b_i·
        hidden_part = x.new_empty(N, 3 * H)  # W_h· h + b_h·, kept whole for the r and z sums
    else:  # b_hn sits outside r ⊙ h, so all biases fold into the input projection
        acts = F.linear(x, w_ih, b_ih + b_hh if b_ih is not None and b_hh is not None else None)
        hidden_part = x.new_empty(N, H)  # r ⊙ h_{t-1}
    out = x.new_empty(N, H)
    step = _forward_steps(step_impl, acts, hidden_part, out, sizes)
    if reset_after:
        hp_s, recurrent = hidden_part.split(sizes), StepMatmul(w_hh.t(), sizes)
    else:
        rz_s, n_s = acts[:, : 2 * H].split(sizes), acts[:, 2 * H :].split(sizes)
        recurrent_rz = StepMatmul(w_hh[: 2 * H].t(), sizes)
        recurrent_n = StepMatmul(w_hh[2 * H :].t(), sizes)
    keep_s = None if zoneout is None else zoneout.split(sizes)
    h = h0
    for t, size in enumerate(sizes):
        h_prev = h[:size] if ragged else h
        if reset_after:
            recurrent.write(hp_s[t], h_prev, b_hh)
            h = step.reset_after(t, h_prev)
        else:
            recurrent_rz.add_to(rz_s[t], h_prev)
            recurrent_n.add_to(n_s[t], step.reset_gate(t, h_prev))  # W_hn (r ⊙ h_{t-1})
            h = step.update(t, h_prev)
        if keep_s is not None:  # h_t = m ⊙ h_{t-1} + (1 − m) ⊙ h̃_t, over h̃_t in its rows
            h = h.lerp_(h_prev, keep_s[t])
    if reset_after:
        hidden_part = hidden_part[:, 2 * H :]
    cache = GRUCache(
        x, h0, acts, hidden_part, out, w_ih, w_hh, b_ih is not None, reset_after,
        tuple(batch_sizes), zoneout,
    )  # fmt: skip
    return (out, final_rows(out, batch_sizes)), cache


def gru_backward(
    grad_out: Tensor,
    grad_h_n: Tensor,
    cache: GRUCache,
    *,
    need_input_grad: bool = True,
    step_impl: StepImpl | None = None,
) -> GRUGrads:
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        grad_out: (N, H), grad_h_n: (B, H) upstream gradients.
        step_impl: "torch", "triton", "c", or None for the default (see
            :mod:`rnnkit.ops._step_impl`).
    Returns:
        the gradient of every input, same shapes; ``x`` is None unless ``need_input_grad``.
    """
    x, h0, acts, hidden_part, out = cache[:5]
    w_ih, w_hh, batch_sizes = cache.w_ih, cache.w_hh, cache.batch_sizes
    H = w_hh.shape[1]
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    h_prev = previous_rows(h0, out, batch_sizes)  # (N, H)
    grad_x_acts = torch.empty_like(acts)  # (N, 3H) gradient of the input-side pre-activations
    grad_h_acts = torch.empty_like(acts) if cache.reset_after else None  # of W_hh h + b_hh
    split = None if cache.keep is None else ZoneoutSplit(cache.keep, sizes, grad_out)
    reaching = grad_out if split is None else split.fresh(grad_out)  # what the steps get
    step = _backward_steps(
        step_impl, reaching.contiguous(), acts, hidden_part, h_prev, grad_x_acts, grad_h_acts,
        sizes,
    )  # fmt: skip
    dh_carry = grad_h_n.clone(memory_format=torch.contiguous_format)  # (B, H)
    if grad_h_acts is not None:
        gh_s, recurrent = grad_h_acts.split(sizes), StepMatmul(w_hh, sizes)
        for t in reversed(range(len(sizes))):
            dh = dh_carry[: sizes[t]] if ragged else dh_carry  # (b, H)
            skipped = None if split is None else split.split(t, dh)
            step.reset_after(t, dh)
            recurrent.add_to(dh, gh_s[t])
            if skipped is not None:
                dh.add_(skipped)
        grad_w_hh = grad_h_acts.t() @ h_prev
        grad_b_hh = grad_h_acts.sum(0) if cache.has_bias else None
    else:
        recurrent_rz = StepMatmul(w_hh[: 2 * H], sizes)
        recurrent_n = StepMatmul(w_hh[2 * H :], sizes)
        grz_s, gn_s = grad_x_acts[:, : 2 * H].split(sizes), grad_x_acts[:, 2 * H :].split(sizes)
        for t in reversed(range(len(sizes))):
            dh = dh_carry[: sizes[t]] if ragged else dh_carry  # (b, H)
            skipped = None if split is None else split.split(t, dh)
            step.update(t, dh)
            step.reset_gate(t, dh, recurrent_n(gn_s[t]))  # with the gradient of r ⊙ h_{t-1}
            recurrent_rz.add_to(dh, grz_s[t])
            if skipped is not None:
                dh.add_(skipped)
        grad_w_hh = torch.cat(
            [grad_x_acts[:, : 2 * H].t() @ h_prev, grad_x_acts[:, 2 * H :].t() @ hidden_part]
        )
        grad_b_hh = grad_x_acts.sum(0) if cache.has_bias else None
    return GRUGrads(
        x=grad_x_acts @ w_ih if need_input_grad else None,
        h0=dh_carry,
        w_ih=grad_x_acts.t() @ x,
        w_hh=grad_w_hh,
        b_ih=grad_x_acts.sum(0) if cache.has_bias else None,
        b_hh=grad_b_hh,
    )


# --- the element-wise work of each step ---------------------------------------------------------


class GRUForwardSteps(Protocol):
    """Each forward step's element-wise work, on the whole-sequence buffers it was built on:
    ``reset_after`` for the torch variant, ``reset_gate`` then ``update`` around the product
    W_hn (r ⊙ h_{t-1}) for Cho et al.'s. Each returns a (b, H) view, b = sizes[t]."""

    def reset_after(self, t: int, h_prev: Tensor) -> Tensor:
        """r, z, n into step t's ``acts`` rows (W_i· x + b_i· there, W_h· h + b_h· in its
        ``hidden_part`` rows); h_t into ``out``, returned."""
        ...

    def reset_gate(self, t: int, h_prev: Tensor) -> Tensor:
        """σ of the r and z pre-activations (recurrent product added) in place; r ⊙ h_{t-1}
        into the ``hidden_part`` rows, returned."""
        ...

    def update(self, t: int, h_prev: Tensor) -> Tensor:
        """tanh of the n pre-activation (W_hn (r ⊙ h) added) in place; h_t into ``out``,
        returned."""
        ...


class GRUBackwardSteps(Protocol):
    """Each backward step's element-wise work, on the whole-sequence buffers it was built on.
    dh (b, H) holds the gradient reaching h_t from step t + 1 and is updated in place."""

    def reset_after(self, t: int, dh: Tensor) -> None:
        """Step t's rows of ``grad_x_acts`` and ``grad_h_acts``; dh becomes z ⊙ dh_t, the part
        of the gradient of h_{t-1} outside the product with W_hh."""
        ...

    def update(self, t: int, dh: Tensor) -> None:
        """Reset before, first half: dh becomes dh_t (the upstream gradient added); the z and n
        blocks of the ``grad_x_acts`` rows."""
        ...

    def reset_gate(self, t: int, dh: Tensor, d_rh: Tensor) -> None:
        """Reset before, second half, given d_rh (b, H), the gradient of r ⊙ h_{t-1}: the r
        block of the ``grad_x_acts`` rows; dh becomes z ⊙ dh_t + r ⊙ d_rh."""
        ...


class TorchGRUForward:
    """:class:`GRUForwardSteps` in torch ops, on per-step views made once."""

    def __init__(
        self,
        acts: Tensor,  # (N, 3H) gate pre-activations, turned into r, z, n step by step
        hidden_part: Tensor,  # (N, 3H) W_hh h + b_hh (reset after) or (N, H) r ⊙ h, written
        out: Tensor,  # (N, H) h_t, written
        sizes: list[int],
    ) -> None:
        H = out.shape[1]
        self.rz_s, self.r_s, self.z_s, self.n_s = (
            t.split(sizes)
            for t in (acts[:, : 2 * H], acts[:, :H], acts[:, H : 2 * H], acts[:, 2 * H :])
        )
        self.hp_s, self.h_s = hidden_part.split(sizes), out.split(sizes)
        if hidden_part.shape[1] == 3 * H:
            self.hrz_s = hidden_part[:, : 2 * H].split(sizes)
            self.hn_s = hidden_part[:, 2 * H :].split(sizes)

    def reset_after(self, t: int, h_prev: Tensor) -> Tensor:
        self.rz_s[t].add_(self.hrz_s[t]).sigmoid_()
        n = self.n_s[t].addcmul_(self.r_s[t], self.hn_s[t]).tanh_()
        return torch.sub(h_prev, n, out=self.h_s[t]).mul_(self.z_s[t]).add_(n)  # n + z(h − n)

    def reset_gate(self, t: int, h_prev: Tensor) -> Tensor:
        self.rz_s[t].sigmoid_()
        return torch.mul(self.r_s[t], h_prev, out=self.hp_s[t])

    def update(self, t: int, h_prev: Tensor) -> Tensor:
        n = self.n_s[t].tanh_()
        return torch.sub(h_prev, n, out=self.h_s[t]).mul_(self.z_s[t]).add_(n)  # n + z(h − n)


class TorchGRUBackward:
    """:class:`GRUBackwardSteps` in torch ops; the factors of dh that do not depend on the
    upstream gradient are computed for all steps at once."""

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
        H = h_prev.shape[1]
        r, z, n = acts.split(H, dim=1)
        d_n = (1 - z) * (1 - n * n)  # dA_n = dh ⊙ d_n
        d_z = (h_prev - n) * z * (1 - z)  # dA_z = dh ⊙ d_z
        self.gout_s, self.z_s = grad_out.split(sizes), z.split(sizes)
        if grad_h_acts is not None:
            d_r = d_n * hidden_part * r * (1 - r)  # dA_r = dh ⊙ d_r
            x_factors = torch.cat([d_r, d_z, d_n], dim=1).view(-1, 3, H)  # (N, 3, H)
            h_factors = torch.cat([d_r, d_z, d_n * r], dim=1).view(-1, 3, H)  # (N, 3, H)
            self.xf_s, self.hf_s = x_factors.split(sizes), h_factors.split(sizes)
            self.gx_s = grad_x_acts.view(-1, 3, H).split(sizes)
            self.gh_s = grad_h_acts.view(-1, 3, H).split(sizes)
        else:
            d_zn = torch.cat([d_z, d_n], dim=1).view(-1, 2, H)  # (N, 2, H)
            d_r = h_prev * r * (1 - r)  # dA_r = d(r ⊙ h) ⊙ d_r
            self.dzn_s, self.dr_s, self.r_s = d_zn.split(sizes), d_r.split(sizes), r.split(sizes)
            self.gr_s = grad_x_acts[:, :H].split(sizes)
            self.gzn_s = grad_x_acts[:, H:].view(-1, 2, H).split(sizes)

    def reset_after(self, t: int, dh: Tensor) -> None:
        dh.add_(self.gout_s[t])
        torch.mul(self.xf_s[t], dh.unsqueeze(1), out=self.gx_s[t])
        torch.mul(self.hf_s[t], dh.unsqueeze(1), out=self.gh_s[t])
        dh.mul_(self.z_s[t])

    def update(self, t: int, dh: Tensor) -> None:
        dh.add_(self.gout_s[t])
        torch.mul(self.dzn_s[t], dh.unsqueeze(1), out=self.gzn_s[t])

    def reset_gate(self, t: int, dh: Tensor, d_rh: Tensor) -> None:
        torch.mul(d_rh, self.dr_s[t], out=self.gr_s[t])
        dh.mul_(self.z_s[t]).addcmul_(d_rh, self.r_s[t])


def _forward_steps(
    step_impl: StepImpl | None, acts: Tensor, hidden_part: Tensor, out: Tensor, sizes: list[int]
) -> GRUForwardSteps:
    impl = resolve_step_impl(step_impl, acts)
    if impl == "triton":
        from rnnkit.ops.triton.gru import TritonGRUForward

        return TritonGRUForward(acts, hidden_part, out, sizes)
    if impl == "c":
        from rnnkit.ops.cpu.gru import CpuGRUForward

        return CpuGRUForward(acts, hidden_part, out, sizes)
    return TorchGRUForward(acts, hidden_part, out, sizes)


def _backward_steps(
    step_impl: StepImpl | None,
    grad_out: Tensor,
    acts: Tensor,
    hidden_part: Tensor,
    h_prev: Tensor,
    grad_x_acts: Tensor,
    grad_h_acts: Tensor | None,
    sizes: list[int],
) -> GRUBackwardSteps:
    args = (grad_out, acts, hidden_part, h_prev, grad_x_acts, grad_h_acts, sizes)
    impl = resolve_step_impl(step_impl, acts)
    if impl == "triton":
        from rnnkit.ops.triton.gru import TritonGRUBackward

        return TritonGRUBackward(*args)
    if impl == "c":
        from rnnkit.ops.cpu.gru import CpuGRUBackward

        return CpuGRUBackward(*args)
    return TorchGRUBackward(*args)


# --- autograd glue and the per-step twin ----------------------------------------------------------


class GRUFunction(torch.autograd.Function):
    """Autograd glue: calls :func:`gru_forward` and :func:`gru_backward`, nothing else."""

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
        reset_after: bool,
        zoneout: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        outputs, cache = gru_forward(
            x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reset_after=reset_after, zoneout=zoneout
        )
        save_cache(ctx, cache)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor, grad_h_n: Tensor) -> tuple[Tensor | None, ...]:
        refuse_double_backward("rnnkit's fused GRU")
        grads = gru_backward(
            grad_out, grad_h_n, load_cache(ctx), need_input_grad=ctx.needs_input_grad[0]
        )
        return (*grads, None, None, None)


@opaque_to_compile
def gru_fused(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    reset_after: bool = True,
    zoneout: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Differentiable GRU layer over packed rows: (out (N, H), h_n (B, H)); ``zoneout`` (N, H)
    keep weights of h, or None (see :mod:`rnnkit.ops._zoneout`)."""
    result: tuple[Tensor, Tensor] = GRUFunction.apply(
        x, h0, w_ih, w_hh, b_ih, b_hh, tuple(batch_sizes), reset_after, zoneout
    )
    return result


def gru_cell(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    *,
    reset_after: bool = True,
) -> Tensor:
    """One GRU step with plain autograd ops: x (B, I), h (B, H) -> h'."""
    H = w_hh.shape[1]
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, dim=1)
    b_hrz, b_hn = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
    h_r, h_z = F.linear(h, w_hh[: 2 * H], b_hrz).chunk(2, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    if reset_after:
        n = torch.tanh(x_n + r * F.linear(h, w_hh[2 * H :], b_hn))
    else:
        n = torch.tanh(x_n + F.linear(r * h, w_hh[2 * H :], b_hn))
    return (1 - z) * n + z * h


def gru_loop(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    reset_after: bool = True,
    zoneout: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The readable twin of :func:`gru_fused`: :func:`gru_cell` per step, autograd for BPTT."""
    offsets = step_offsets(batch_sizes)
    h, outs = h0, []
    for t, size in enumerate(batch_sizes):
        rows = x[offsets[t] : offsets[t + 1]]
        h_prev = h[:size]
        h = gru_cell(rows, h_prev, w_ih, w_hh, b_ih, b_hh, reset_after=reset_after)
        if zoneout is not None:
            h = zone(h, h_prev, zoneout[offsets[t] : offsets[t + 1]])
        outs.append(h)
    out = torch.cat(outs)
    return out, final_rows(out, batch_sizes)
