"""Persistent forward kernels (Diamos et al. 2016): one launch for the whole sequence.

Program p owns hidden units [p·BLOCK_U, (p+1)·BLOCK_U): it loads their rows of W_hh (every gate)
into registers once and keeps them for all T steps. A step reads all of h_{t-1} (written by every
program at the step before), so programs meet at a grid-wide barrier (an atomic counter) between
steps; the launch must therefore fit on the GPU at once (grid ≤ SMs, checked by the host). Rows
of the state buffers: B rows of initial state, then the packed rows of every step.
"""

import triton
import triton.language as tl

from rnnkit.ops.triton.kernels.common import sigmoid, tanh


@triton.jit
def _load_rows(w_ptr, first_row, units, k, H):
    """Rows first_row + units of a (·, H) fp32 matrix, columns k: (BLOCK_U, BLOCK_K), 0 outside."""
    mask = (units < H)[:, None] & (k < H)[None, :]
    return tl.load(w_ptr + (first_row + units)[:, None] * H + k[None, :], mask=mask, other=0.0)


@triton.jit
def _matvec(w, h):
    """w (BLOCK_U, BLOCK_K) · h (BLOCK_K,) -> (BLOCK_U,)."""
    return tl.sum(w * h[None, :], axis=1)


@triton.jit
def _grid_barrier(counter_ptr, t):
    """Wait until every program has finished step t (its stores visible to all)."""
    tl.debug_barrier()
    target = (t + 1) * tl.num_programs(0)
    arrived = tl.atomic_add(counter_ptr, 1) + 1
    while arrived < target:
        arrived = tl.atomic_add(counter_ptr, 0)
    tl.debug_barrier()


@triton.jit
def lstm_forward(
    xproj_ptr,  # (N, 4H) W_ih x + b_ih + b_hh, packed rows
    w_hh_ptr,  # (4H, H)
    hs_ptr,  # (B + N, H) in: h0 in the first B rows; out: h_t of every packed row after them
    cs_ptr,  # (B + N, H) the same for c
    rows_ptr,  # (T + 1,) int32: first packed row of each step, N last
    prev_ptr,  # (T,) int32: state-buffer row of the first h_{t-1} of each step
    counter_ptr,  # (1,) int32, zero: the grid barrier
    T,
    B,
    H,
    BLOCK_U: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    units = tl.program_id(0) * BLOCK_U + tl.arange(0, BLOCK_U)
    k = tl.arange(0, BLOCK_K)
    own = units < H
    w_i = _load_rows(w_hh_ptr, 0, units, k, H)
    w_f = _load_rows(w_hh_ptr, H, units, k, H)
    w_g = _load_rows(w_hh_ptr, 2 * H, units, k, H)
    w_o = _load_rows(w_hh_ptr, 3 * H, units, k, H)
    for t in range(T):
        row = tl.load(rows_ptr + t)
        prev = tl.load(prev_ptr + t)
        for b in range(tl.load(rows_ptr + t + 1) - row):
            h_prev = tl.load(
                hs_ptr + (prev + b) * H + k, mask=k < H, other=0.0, cache_modifier=".cg"
            )
            c_prev = tl.load(cs_ptr + (prev + b) * H + units, mask=own, other=0.0)
            xproj = xproj_ptr + (row + b) * 4 * H + units
            i = sigmoid(tl.load(xproj, mask=own, other=0.0) + _matvec(w_i, h_prev))
            f = sigmoid(tl.load(xproj + H, mask=own, other=0.0) + _matvec(w_f, h_prev))
            g = tanh(tl.load(xproj + 2 * H, mask=own, other=0.0) + _matvec(w_g, h_prev))
            o = sigmoid(tl.load(xproj + 3 * H, mask=own, other=0.0) + _matvec(w_o, h_prev))
            c = f * c_prev + i * g
            state = (B + row + b) * H + units
            tl.store(cs_ptr + state, c, mask=own)
            tl.store(hs_ptr + state, o * tanh(c), mask=own)
        if t + 1 < T:
            _grid_barrier(counter_ptr, t)


@triton.jit
def gru_forward(
    xproj_ptr,  # (N, 3H) W_ih x + b_ih, packed rows
    w_hh_ptr,  # (3H, H)
    b_hh_ptr,  # (3H,)
    hs_ptr,  # (B + N, H) in: h0 in the first B rows; out: h_t of every packed row after them
    rows_ptr,  # (T + 1,) int32: first packed row of each step, N last
    prev_ptr,  # (T,) int32: state-buffer row of the first h_{t-1} of each step
    counter_ptr,  # (1,) int32, zero: the grid barrier
    T,
    B,
    H,
    BLOCK_U: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    units = tl.program_id(0) * BLOCK_U + tl.arange(0, BLOCK_U)
    k = tl.arange(0, BLOCK_K)
    own = units < H
    w_r = _load_rows(w_hh_ptr, 0, units, k, H)
    w_z = _load_rows(w_hh_ptr, H, units, k, H)
    w_n = _load_rows(w_hh_ptr, 2 * H, units, k, H)
    b_r = tl.load(b_hh_ptr + units, mask=own, other=0.0)
    b_z = tl.load(b_hh_ptr + H + units, mask=own, other=0.0)
    b_n = tl.load(b_hh_ptr + 2 * H + units, mask=own, other=0.0)
    for t in range(T):
        row = tl.load(rows_ptr + t)
        prev = tl.load(prev_ptr + t)
        for b in range(tl.load(rows_ptr + t + 1) - row):
            h_prev = tl.load(
                hs_ptr + (prev + b) * H + k, mask=k < H, other=0.0, cache_modifier=".cg"
            )
            h_own = tl.load(
                hs_ptr + (prev + b) * H + units, mask=own, other=0.0, cache_modifier=".cg"
            )
            xproj = xproj_ptr + (row + b) * 3 * H + units
            r = sigmoid(tl.load(xproj, mask=own, other=0.0) + _matvec(w_r, h_prev) + b_r)
            z = sigmoid(tl.load(xproj + H, mask=own, other=0.0) + _matvec(w_z, h_prev) + b_z)
            n = tanh(tl.load(xproj + 2 * H, mask=own, other=0.0) + r * (_matvec(w_n, h_prev) + b_n))
            tl.store(hs_ptr + (B + row + b) * H + units, n + z * (h_own - n), mask=own)
        if t + 1 < T:
            _grid_barrier(counter_ptr, t)
