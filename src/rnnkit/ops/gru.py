"""GRU, reset gate after or before the recurrent product: whole-sequence forward, hand-written
BPTT, autograd glue.

Gate order r, z, n (torch's). r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, and::

    reset_after=True  (torch, cuDNN):     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    reset_after=False (Cho et al. 2014):  n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Sequences are packed rows (see :mod:`rnnkit.ops._packed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.ops._autograd import load_cache, save_cache
from rnnkit.ops._packed import final_rows, is_dense, previous_rows, step_offsets


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
) -> tuple[tuple[Tensor, Tensor], GRUCache]:
    """Run a GRU layer over packed sequences.

    Args:
        x: (N, I) packed input rows. h0: (B, H).
        w_ih: (3H, I), w_hh: (3H, H), b_ih, b_hh: (3H,) or None.
        batch_sizes: sequences running at each step, non-increasing, summing to N.
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
    # Per-step views, made once: the loop below does no slicing.
    rz_s, r_s, z_s = (t.split(sizes) for t in (acts[:, : 2 * H], acts[:, :H], acts[:, H : 2 * H]))
    n_s, hp_s, h_s = acts[:, 2 * H :].split(sizes), hidden_part.split(sizes), out.split(sizes)
    if reset_after:
        hrz_s, hn_s = hidden_part[:, : 2 * H].split(sizes), hidden_part[:, 2 * H :].split(sizes)
        w_hh_t = w_hh.t()
    else:
        w_hrz_t, w_hn_t = w_hh[: 2 * H].t(), w_hh[2 * H :].t()
    h = h0
    for t, size in enumerate(sizes):
        h_prev = h[:size] if ragged else h
        if reset_after:
            if b_hh is not None:
                torch.addmm(b_hh, h_prev, w_hh_t, out=hp_s[t])
            else:
                torch.mm(h_prev, w_hh_t, out=hp_s[t])
            rz_s[t].add_(hrz_s[t]).sigmoid_()
            n = n_s[t].addcmul_(r_s[t], hn_s[t]).tanh_()
        else:
            rz_s[t].addmm_(h_prev, w_hrz_t).sigmoid_()
            n = n_s[t].addmm_(torch.mul(r_s[t], h_prev, out=hp_s[t]), w_hn_t).tanh_()
        h = torch.sub(h_prev, n, out=h_s[t]).mul_(z_s[t]).add_(n)  # n + z ⊙ (h − n)
    if reset_after:
        hidden_part = hidden_part[:, 2 * H :]
    cache = GRUCache(
        x, h0, acts, hidden_part, out, w_ih, w_hh, b_ih is not None, reset_after, tuple(batch_sizes)
    )
    return (out, final_rows(out, batch_sizes)), cache


def gru_backward(
    grad_out: Tensor, grad_h_n: Tensor, cache: GRUCache, *, need_input_grad: bool = True
) -> GRUGrads:
    """Backpropagation through time for :func:`gru_forward`.

    Args:
        grad_out: (N, H), grad_h_n: (B, H) upstream gradients.
    Returns:
        the gradient of every input, same shapes; ``x`` is None unless ``need_input_grad``.
    """
    x, h0, acts, hidden_part, out = cache[:5]
    w_ih, w_hh, batch_sizes = cache.w_ih, cache.w_hh, cache.batch_sizes
    H = w_hh.shape[1]
    sizes, ragged = list(batch_sizes), not is_dense(batch_sizes)
    r, z, n = acts.split(H, dim=1)
    h_prev = previous_rows(h0, out, batch_sizes)  # (N, H)
    # Per-step factors of dh that do not depend on the upstream gradient, for all steps at once.
    d_n = (1 - z) * (1 - n * n)  # dA_n = dh ⊙ d_n
    d_z = (h_prev - n) * z * (1 - z)  # dA_z = dh ⊙ d_z
    grad_x_acts = torch.empty_like(acts)  # (N, 3H) gradient of the input-side pre-activations
    dh_carry = grad_h_n.clone()  # (B, H)
    gout_s, z_s = grad_out.contiguous().split(sizes), z.split(sizes)
    steps = range(len(sizes) - 1, -1, -1)
    if cache.reset_after:
        d_r = d_n * hidden_part * r * (1 - r)  # dA_r = dh ⊙ d_r
        x_factors = torch.cat([d_r, d_z, d_n], dim=1).view(-1, 3, H)  # (N, 3, H)
        h_factors = torch.cat([d_r, d_z, d_n * r], dim=1).view(-1, 3, H)  # (N, 3, H)
        grad_h_acts = torch.empty_like(acts)  # (N, 3H) gradient of W_hh h + b_hh
        xf_s, hf_s = x_factors.split(sizes), h_factors.split(sizes)
        gx_s, gh_s = grad_x_acts.view(-1, 3, H).split(sizes), grad_h_acts.split(sizes)
        gh3_s = grad_h_acts.view(-1, 3, H).split(sizes)
        for t in steps:
            dh = (dh_carry[: sizes[t]] if ragged else dh_carry).add_(gout_s[t])  # (b, H)
            torch.mul(xf_s[t], dh.unsqueeze(1), out=gx_s[t])
            torch.mul(hf_s[t], dh.unsqueeze(1), out=gh3_s[t])
            torch.addmm(dh * z_s[t], gh_s[t], w_hh, out=dh)
        grad_w_hh = grad_h_acts.t() @ h_prev
        grad_b_hh = grad_h_acts.sum(0) if cache.has_bias else None
    else:
        d_zn = torch.cat([d_z, d_n], dim=1).view(-1, 2, H)  # (N, 2, H)
        d_r = h_prev * r * (1 - r)  # dA_r = d(r ⊙ h) ⊙ d_r
        w_hrz, w_hn = w_hh[: 2 * H], w_hh[2 * H :]
        dzn_s, dr_s, r_s = d_zn.split(sizes), d_r.split(sizes), r.split(sizes)
        grz_s = grad_x_acts[:, : 2 * H].split(sizes)
        gr_s, gn_s = grad_x_acts[:, :H].split(sizes), grad_x_acts[:, 2 * H :].split(sizes)
        gzn_s = grad_x_acts[:, H:].view(-1, 2, H).split(sizes)
        for t in steps:
            dh = (dh_carry[: sizes[t]] if ragged else dh_carry).add_(gout_s[t])  # (b, H)
            torch.mul(dzn_s[t], dh.unsqueeze(1), out=gzn_s[t])
            d_rh = gn_s[t] @ w_hn  # (b, H) gradient of r ⊙ h_{t-1}
            torch.mul(d_rh, dr_s[t], out=gr_s[t])
            dh_prev = torch.addcmul(dh * z_s[t], d_rh, r_s[t])
            torch.addmm(dh_prev, grz_s[t], w_hrz, out=dh)
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
    ) -> tuple[Tensor, Tensor]:
        outputs, cache = gru_forward(
            x, h0, w_ih, w_hh, b_ih, b_hh, batch_sizes, reset_after=reset_after
        )
        save_cache(ctx, cache)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor, grad_h_n: Tensor) -> tuple[Tensor | None, ...]:
        grads = gru_backward(
            grad_out, grad_h_n, load_cache(ctx), need_input_grad=ctx.needs_input_grad[0]
        )
        return (*grads, None, None)


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
) -> tuple[Tensor, Tensor]:
    """Differentiable GRU layer over packed rows: (out (N, H), h_n (B, H))."""
    result: tuple[Tensor, Tensor] = GRUFunction.apply(
        x, h0, w_ih, w_hh, b_ih, b_hh, tuple(batch_sizes), reset_after
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
) -> tuple[Tensor, Tensor]:
    """The readable twin of :func:`gru_fused`: :func:`gru_cell` per step, autograd for BPTT."""
    offsets = step_offsets(batch_sizes)
    h, outs = h0, []
    for t, size in enumerate(batch_sizes):
        rows = x[offsets[t] : offsets[t + 1]]
        h = gru_cell(rows, h[:size], w_ih, w_hh, b_ih, b_hh, reset_after=reset_after)
        outs.append(h)
    out = torch.cat(outs)
    return out, final_rows(out, batch_sizes)
