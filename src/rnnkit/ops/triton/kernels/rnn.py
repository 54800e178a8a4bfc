"""Elman RNN step kernels: h_t = f(a_t), f = tanh or relu."""

import triton
import triton.language as tl

from rnnkit.ops.triton.kernels.common import tanh, tile


@triton.jit
def forward_step(
    acts_ptr,  # (b, H) in: pre-activations (recurrent product included); out: h_t
    acts_stride,
    rows,
    H,
    RELU: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    acts = acts_ptr + row * acts_stride + col
    a = tl.load(acts, mask=mask).to(tl.float32)
    h = tl.maximum(a, 0.0) if RELU else tanh(a)
    tl.store(acts, h.to(acts_ptr.dtype.element_ty), mask=mask)


@triton.jit
def backward_step(
    out_ptr,  # (b, H) h_t
    grad_out_ptr,  # (b, H) upstream gradient of h_t
    grad_acts_ptr,  # (b, H) out: gradient of the pre-activations
    row_stride,  # row stride of the three above
    dh_ptr,  # (b, H) gradient reaching h_t from step t + 1
    dh_stride,
    rows,
    H,
    RELU: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row, col, mask = tile(rows, H, BLOCK_B, BLOCK_H)
    per_row = row * row_stride + col
    h = tl.load(out_ptr + per_row, mask=mask).to(tl.float32)
    dh = tl.load(dh_ptr + row * dh_stride + col, mask=mask).to(tl.float32)
    dh += tl.load(grad_out_ptr + per_row, mask=mask).to(tl.float32)
    slope = tl.where(h > 0, 1.0, 0.0) if RELU else 1.0 - h * h
    tl.store(grad_acts_ptr + per_row, (dh * slope).to(grad_acts_ptr.dtype.element_ty), mask=mask)
