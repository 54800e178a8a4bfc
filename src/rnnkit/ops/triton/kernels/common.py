"""Shared device helpers: overflow-free activations in fp32 and the step tile's indices."""

import triton
import triton.language as tl


@triton.jit
def sigmoid(x):
    """σ(x) = 1 / (1 + e^{−x}), through e^{−|x|} so that nothing overflows."""
    e = tl.exp(-tl.abs(x))
    s = 1.0 / (1.0 + e)
    return tl.where(x >= 0, s, e * s)


@triton.jit
def tanh(x):
    """tanh(x) = sign(x) · (1 − e^{−2|x|}) / (1 + e^{−2|x|}); nothing overflows."""
    e = tl.exp(-2.0 * tl.abs(x))
    t = (1.0 - e) / (1.0 + e)
    return tl.where(x >= 0, t, -t)


@triton.jit
def tile(rows, H, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr):
    """This program's tile: row indices (BLOCK_B, 1), column indices (1, BLOCK_H), in-range mask."""
    row = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)[:, None]
    col = tl.program_id(1) * BLOCK_H + tl.arange(0, BLOCK_H)[None, :]
    return row, col, (row < rows) & (col < H)
