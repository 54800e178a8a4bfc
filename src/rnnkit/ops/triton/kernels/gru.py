"""GRU step kernels (gate order r, z, n), reset gate after and before the recurrent product.

Reset after (torch): one kernel per step each way. Reset before (Cho et al.): the product
W_hn (r ⊙ h_{t-1}) sits inside the step, so each way takes two kernels around it.
"""

import triton
import triton.language as tl

from rnnkit.ops.triton.kernels.common import sigmoid, tanh, tile


@triton.jit
def forward_reset_after(
    gates_ptr,  # (b, 3H) in: W_i· x + b_i·; out: r, z, n
    gates_stride,
    hidden_ptr,  # (b, 3H) W_h· h_{t-1} + b_h·
    hidden_stride,
    h_prev_ptr,  # (b, H)
    h_prev_stride,
    h_ptr,  # (b, H) out: h_t
    h_stride,
    rows,
    H,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    gates = gates_ptr + row * gates_stride + col
    hidden = hidden_ptr + row * hidden_stride + col
    r = sigmoid(
        tl.load(gates, mask=mask).to(tl.float32) + tl.load(hidden, mask=mask).to(tl.float32)
    )
    z = sigmoid(
        tl.load(gates + H, mask=mask).to(tl.float32) + tl.load(hidden + H, mask=mask).to(tl.float32)
    )
    n = tanh(
        tl.load(gates + 2 * H, mask=mask).to(tl.float32)
        + r * tl.load(hidden + 2 * H, mask=mask).to(tl.float32)
    )
    h_prev = tl.load(h_prev_ptr + row * h_prev_stride + col, mask=mask).to(tl.float32)
    out_ty = gates_ptr.dtype.element_ty
    tl.store(gates, r.to(out_ty), mask=mask)
    tl.store(gates + H, z.to(out_ty), mask=mask)
    tl.store(gates + 2 * H, n.to(out_ty), mask=mask)
    tl.store(h_ptr + row * h_stride + col, (n + z * (h_prev - n)).to(out_ty), mask=mask)


@triton.jit
def forward_reset_gate(
    gates_ptr,  # (b, 3H) in: r, z pre-activations (recurrent product included); out: r, z
    gates_stride,
    h_prev_ptr,  # (b, H)
    h_prev_stride,
    rh_ptr,  # (b, H) out: r ⊙ h_{t-1}
    rh_stride,
    rows,
    H,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    gates = gates_ptr + row * gates_stride + col
    r = sigmoid(tl.load(gates, mask=mask).to(tl.float32))
    z = sigmoid(tl.load(gates + H, mask=mask).to(tl.float32))
    h_prev = tl.load(h_prev_ptr + row * h_prev_stride + col, mask=mask).to(tl.float32)
    out_ty = gates_ptr.dtype.element_ty
    tl.store(gates, r.to(out_ty), mask=mask)
    tl.store(gates + H, z.to(out_ty), mask=mask)
    tl.store(rh_ptr + row * rh_stride + col, (r * h_prev).to(out_ty), mask=mask)


@triton.jit
def forward_update(
    gates_ptr,  # (b, 3H) in: z, and n's pre-activation (W_hn (r ⊙ h) included); out: n
    gates_stride,
    h_prev_ptr,  # (b, H)
    h_prev_stride,
    h_ptr,  # (b, H) out: h_t
    h_stride,
    rows,
    H,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    gates = gates_ptr + row * gates_stride + col
    z = tl.load(gates + H, mask=mask).to(tl.float32)
    n = tanh(tl.load(gates + 2 * H, mask=mask).to(tl.float32))
    h_prev = tl.load(h_prev_ptr + row * h_prev_stride + col, mask=mask).to(tl.float32)
    out_ty = gates_ptr.dtype.element_ty
    tl.store(gates + 2 * H, n.to(out_ty), mask=mask)
    tl.store(h_ptr + row * h_stride + col, (n + z * (h_prev - n)).to(out_ty), mask=mask)


@triton.jit
def backward_reset_after(
    acts_ptr,  # (b, 3H) r, z, n
    acts_stride,
    hidden_n_ptr,  # (b, H) W_hn h_{t-1} + b_hn
    hidden_n_stride,
    h_prev_ptr,  # (b, H)
    grad_out_ptr,  # (b, H) upstream gradient of h_t
    row_stride,  # row stride of h_prev and grad_out
    dh_ptr,  # (b, H) in: gradient reaching h_t from step t + 1; out: its part z ⊙ dh_t
    dh_stride,
    grad_x_ptr,  # (b, 3H) out: gradient of W_i· x + b_i·
    grad_h_ptr,  # (b, 3H) out: gradient of W_h· h_{t-1} + b_h·
    grad_stride,  # row stride of both
    rows,
    H,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    acts = acts_ptr + row * acts_stride + col
    r = tl.load(acts, mask=mask).to(tl.float32)
    z = tl.load(acts + H, mask=mask).to(tl.float32)
    n = tl.load(acts + 2 * H, mask=mask).to(tl.float32)
    hidden_n = tl.load(hidden_n_ptr + row * hidden_n_stride + col, mask=mask).to(tl.float32)
    per_row = row * row_stride + col
    h_prev = tl.load(h_prev_ptr + per_row, mask=mask).to(tl.float32)
    dh_at = dh_ptr + row * dh_stride + col
    dh = tl.load(dh_at, mask=mask).to(tl.float32)
    dh += tl.load(grad_out_ptr + per_row, mask=mask).to(tl.float32)
    da_n = dh * (1.0 - z) * (1.0 - n * n)
    da_z = dh * (h_prev - n) * z * (1.0 - z)
    da_r = da_n * hidden_n * r * (1.0 - r)
    grad_ty = grad_x_ptr.dtype.element_ty
    grads = row * grad_stride + col
    tl.store(grad_x_ptr + grads, da_r.to(grad_ty), mask=mask)
    tl.store(grad_x_ptr + grads + H, da_z.to(grad_ty), mask=mask)
    tl.store(grad_x_ptr + grads + 2 * H, da_n.to(grad_ty), mask=mask)
    tl.store(grad_h_ptr + grads, da_r.to(grad_ty), mask=mask)
    tl.store(grad_h_ptr + grads + H, da_z.to(grad_ty), mask=mask)
    tl.store(grad_h_ptr + grads + 2 * H, (da_n * r).to(grad_ty), mask=mask)
    tl.store(dh_at, (dh * z).to(dh_ptr.dtype.element_ty), mask=mask)


@triton.jit
def backward_update(
    acts_ptr,  # (b, 3H) r, z, n
    acts_stride,
    h_prev_ptr,  # (b, H)
    grad_out_ptr,  # (b, H) upstream gradient of h_t
    row_stride,  # row stride of h_prev and grad_out
    dh_ptr,  # (b, H) in: gradient reaching h_t from step t + 1; out: the whole gradient of h_t
    dh_stride,
    grad_x_ptr,  # (b, 3H) out, z and n blocks: gradient of their pre-activations
    grad_stride,
    rows,
    H,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    acts = acts_ptr + row * acts_stride + col
    z = tl.load(acts + H, mask=mask).to(tl.float32)
    n = tl.load(acts + 2 * H, mask=mask).to(tl.float32)
    per_row = row * row_stride + col
    h_prev = tl.load(h_prev_ptr + per_row, mask=mask).to(tl.float32)
    dh_at = dh_ptr + row * dh_stride + col
    dh = tl.load(dh_at, mask=mask).to(tl.float32)
    dh += tl.load(grad_out_ptr + per_row, mask=mask).to(tl.float32)
    grad_ty = grad_x_ptr.dtype.element_ty
    grads = grad_x_ptr + row * grad_stride + col
    tl.store(grads + H, (dh * (h_prev - n) * z * (1.0 - z)).to(grad_ty), mask=mask)
    tl.store(grads + 2 * H, (dh * (1.0 - z) * (1.0 - n * n)).to(grad_ty), mask=mask)
    tl.store(dh_at, dh.to(dh_ptr.dtype.element_ty), mask=mask)


@triton.jit
def backward_reset_gate(
    acts_ptr,  # (b, 3H) r, z, n
    acts_stride,
    h_prev_ptr,  # (b, H)
    d_rh_ptr,  # (b, H) gradient of r ⊙ h_{t-1}
    row_stride,  # row stride of h_prev and d_rh
    dh_ptr,  # (b, H) in: the whole gradient of h_t; out: its part z ⊙ dh_t + r ⊙ d(r ⊙ h)
    dh_stride,
    grad_x_ptr,  # (b, 3H) out, r block: gradient of r's pre-activation
    grad_stride,
    rows,
    H,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    acts = acts_ptr + row * acts_stride + col
    r = tl.load(acts, mask=mask).to(tl.float32)
    z = tl.load(acts + H, mask=mask).to(tl.float32)
    per_row = row * row_stride + col
    h_prev = tl.load(h_prev_ptr + per_row, mask=mask).to(tl.float32)
    d_rh = tl.load(d_rh_ptr + per_row, mask=mask).to(tl.float32)
    dh_at = dh_ptr + row * dh_stride + col
    dh = tl.load(dh_at, mask=mask).to(tl.float32)
    da_r = d_rh * h_prev * r * (1.0 - r)
    tl.store(grad_x_ptr + row * grad_stride + col, da_r.to(grad_x_ptr.dtype.element_ty), mask=mask)
    tl.store(dh_at, (dh * z + d_rh * r).to(dh_ptr.dtype.element_ty), mask=mask)
