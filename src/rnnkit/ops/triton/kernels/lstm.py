"""LSTM step kernels (gate order i, f, g, o; peepholes w_ch = [w_ci; w_cf; w_co])."""

import triton
import triton.language as tl

from rnnkit.ops.triton.kernels.common import sigmoid, tanh, tile


@triton.jit
def forward_step(
    gates_ptr,  # (b, 4H) in: pre-activations (recurrent product included); out: i, f, g, o
    gates_stride,
    c_prev_ptr,  # (b, H) c_{t-1}
    c_prev_stride,
    w_ch_ptr,  # (3H,) peephole weights; unused unless PEEPHOLE
    cell_ptr,  # (b, H) out: c_t
    tanh_cell_ptr,  # (b, H) out: tanh(c_t)
    h_ptr,  # (b, H) out: h_t
    state_stride,  # row stride of the three outputs
    rows,
    H,
    PEEPHOLE: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    gates = gates_ptr + row * gates_stride + col
    a_i = tl.load(gates, mask=mask).to(tl.float32)
    a_f = tl.load(gates + H, mask=mask).to(tl.float32)
    a_g = tl.load(gates + 2 * H, mask=mask).to(tl.float32)
    a_o = tl.load(gates + 3 * H, mask=mask).to(tl.float32)
    c_prev = tl.load(c_prev_ptr + row * c_prev_stride + col, mask=mask).to(tl.float32)
    if PEEPHOLE:
        a_i += tl.load(w_ch_ptr + col, mask=col < H).to(tl.float32) * c_prev
        a_f += tl.load(w_ch_ptr + H + col, mask=col < H).to(tl.float32) * c_prev
    i = sigmoid(a_i)
    f = sigmoid(a_f)
    g = tanh(a_g)
    c = f * c_prev + i * g
    if PEEPHOLE:
        a_o += tl.load(w_ch_ptr + 2 * H + col, mask=col < H).to(tl.float32) * c
    o = sigmoid(a_o)
    tanh_c = tanh(c)
    out_ty = gates_ptr.dtype.element_ty
    tl.store(gates, i.to(out_ty), mask=mask)
    tl.store(gates + H, f.to(out_ty), mask=mask)
    tl.store(gates + 2 * H, g.to(out_ty), mask=mask)
    tl.store(gates + 3 * H, o.to(out_ty), mask=mask)
    state = row * state_stride + col
    tl.store(cell_ptr + state, c.to(out_ty), mask=mask)
    tl.store(tanh_cell_ptr + state, tanh_c.to(out_ty), mask=mask)
    tl.store(h_ptr + state, (o * tanh_c).to(out_ty), mask=mask)


@triton.jit
def backward_step(
    acts_ptr,  # (b, 4H) i, f, g, o of step t
    acts_stride,
    grad_acts_ptr,  # (b, 4H) out: gradient of the gate pre-activations
    grad_acts_stride,
    tanh_cell_ptr,  # (b, H) tanh(c_t)
    c_prev_ptr,  # (b, H) c_{t-1}
    grad_out_ptr,  # (b, H) upstream gradient of h_t
    row_stride,  # row stride of the three above
    dh_ptr,  # (b, H) gradient reaching h_t from step t + 1
    dc_ptr,  # (b, H) in: gradient reaching c_t from step t + 1; out: the gradient of c_{t-1}
    carry_stride,
    w_ch_ptr,  # (3H,) peephole weights; unused unless PEEPHOLE
    rows,
    H,
    PEEPHOLE: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    acts = acts_ptr + row * acts_stride + col
    i = tl.load(acts, mask=mask).to(tl.float32)
    f = tl.load(acts + H, mask=mask).to(tl.float32)
    g = tl.load(acts + 2 * H, mask=mask).to(tl.float32)
    o = tl.load(acts + 3 * H, mask=mask).to(tl.float32)
    per_row = row * row_stride + col
    tanh_c = tl.load(tanh_cell_ptr + per_row, mask=mask).to(tl.float32)
    c_prev = tl.load(c_prev_ptr + per_row, mask=mask).to(tl.float32)
    carry = row * carry_stride + col
    dh = tl.load(dh_ptr + carry, mask=mask).to(tl.float32)
    dh += tl.load(grad_out_ptr + per_row, mask=mask).to(tl.float32)
    dc = tl.load(dc_ptr + carry, mask=mask).to(tl.float32)
    # h = o ⊙ tanh(c): dA_o = dh ⊙ tanh(c) ⊙ σ'(A_o); c reaches h directly and through A_o.
    da_o = dh * tanh_c * o * (1.0 - o)
    dc += dh * o * (1.0 - tanh_c * tanh_c)
    if PEEPHOLE:
        dc += da_o * tl.load(w_ch_ptr + 2 * H + col, mask=col < H).to(tl.float32)
    # c = f ⊙ c_{t-1} + i ⊙ g; c_{t-1} also reaches A_i and A_f through the peepholes.
    da_i = dc * g * i * (1.0 - i)
    da_f = dc * c_prev * f * (1.0 - f)
    da_g = dc * i * (1.0 - g * g)
    dc_prev = dc * f
    if PEEPHOLE:
        dc_prev += da_i * tl.load(w_ch_ptr + col, mask=col < H).to(tl.float32)
        dc_prev += da_f * tl.load(w_ch_ptr + H + col, mask=col < H).to(tl.float32)
    grad_ty = grad_acts_ptr.dtype.element_ty
    grads = grad_acts_ptr + row * grad_acts_stride + col
    tl.store(grads, da_i.to(grad_ty), mask=mask)
    tl.store(grads + H, da_f.to(grad_ty), mask=mask)
    tl.store(grads + 2 * H, da_g.to(grad_ty), mask=mask)
    tl.store(grads + 3 * H, da_o.to(grad_ty), mask=mask)
    tl.store(dc_ptr + carry, dc_prev.to(dc_ptr.dtype.element_ty), mask=mask)
