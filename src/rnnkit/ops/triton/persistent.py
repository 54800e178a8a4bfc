"""Forward-only LSTM and GRU in one persistent launch: W_hh stays on-chip for the whole sequence.

For inference at small batch, where a step's products are too small to fill the GPU and the
per-step launches and weight reloads of the fused ops dominate (Diamos et al. 2016, "Persistent
RNNs"). Plain LSTM and the GRU with the reset gate after the product (torch's), fp32, H ≤ 512,
packed rows as everywhere in :mod:`rnnkit.ops`; no autograd. The kernels' programs meet at a
grid-wide barrier between steps, so all of them must be resident at once: at most one per SM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from rnnkit.ops._packed import final_rows, step_offsets
from rnnkit.ops.triton._launch import next_power_of_2
from rnnkit.ops.triton.kernels import persistent as kernels

MAX_HIDDEN = 512
# W_hh values one program keeps in registers: 64 KiB, a quarter of an SM's register file.
MAX_WEIGHTS_PER_PROGRAM = 16384


def lstm_persistent(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    units_per_program: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Plain LSTM forward over packed rows, as :func:`rnnkit.ops.lstm_forward` computes it.

    Args:
        x: (N, I), h0, c0: (B, H), w_ih: (4H, I), w_hh: (4H, H), b_ih, b_hh: (4H,) or None;
            all float32, on CUDA (or CPU under TRITON_INTERPRET=1).
        batch_sizes: sequences running at each step, non-increasing, summing to N.
        units_per_program: hidden units each program owns, a power of 2; default: the fewest
            that keep the grid within the SMs (one program for all of H on CPU).
    Returns:
        (out (N, H), h_n (B, H), c_n (B, H)).
    """
    H = w_hh.shape[1]
    grid, meta = _plan(x, w_hh, (h0, c0, w_ih, b_ih, b_hh), batch_sizes, units_per_program)
    with torch.no_grad():
        bias = b_ih + b_hh if b_ih is not None and b_hh is not None else None
        xproj = x @ w_ih.t() if bias is None else torch.addmm(bias, x, w_ih.t())  # (N, 4H)
        hs, cs = _states(h0, x.shape[0]), _states(c0, x.shape[0])  # (B + N, H)
        rows, prev, counter = _step_tables(batch_sizes, x.device)
        kernels.lstm_forward[grid](
            xproj, w_hh.contiguous(), hs, cs, rows, prev, counter, len(batch_sizes), h0.shape[0],
            H, **meta,
        )  # fmt: skip
    out, cells = hs[h0.shape[0] :], cs[h0.shape[0] :]
    return out, final_rows(out, batch_sizes), final_rows(cells, batch_sizes)


def gru_persistent(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    batch_sizes: Sequence[int],
    *,
    units_per_program: int | None = None,
) -> tuple[Tensor, Tensor]:
    """GRU forward (reset gate after the product) over packed rows, as
    :func:`rnnkit.ops.gru_forward` computes it; arguments as :func:`lstm_persistent` with 3H
    gate rows. Returns (out (N, H), h_n (B, H))."""
    H = w_hh.shape[1]
    grid, meta = _plan(x, w_hh, (h0, w_ih, b_ih, b_hh), batch_sizes, units_per_program)
    with torch.no_grad():
        xproj = torch.nn.functional.linear(x, w_ih, b_ih)  # (N, 3H)
        b_hh = w_hh.new_zeros(3 * H) if b_hh is None else b_hh.contiguous()
        hs = _states(h0, x.shape[0])  # (B + N, H)
        rows, prev, counter = _step_tables(batch_sizes, x.device)
        kernels.gru_forward[grid](
            xproj, w_hh.contiguous(), b_hh, hs, rows, prev, counter, len(batch_sizes),
            h0.shape[0], H, **meta,
        )  # fmt: skip
    out = hs[h0.shape[0] :]
    return out, final_rows(out, batch_sizes)


def _plan(
    x: Tensor,
    w_hh: Tensor,
    others: Sequence[Tensor | None],
    batch_sizes: Sequence[int],
    units_per_program: int | None,
) -> tuple[tuple[int], dict[str, int]]:
    """Grid and tile sizes, after checking that the problem fits the kernel."""
    gates, H = w_hh.shape[0] // w_hh.shape[1], w_hh.shape[1]
    name = "lstm_persistent" if gates == 4 else "gru_persistent"
    dtypes = {t.dtype for t in (x, w_hh, *others) if t is not None}
    if dtypes != {torch.float32}:
        raise ValueError(f"{name}: float32 only, got {sorted(map(str, dtypes))}")
    if H > MAX_HIDDEN:
        raise ValueError(f"{name}: hidden size at most {MAX_HIDDEN}, got {H}")
    if x.shape[0] * gates * H >= 2**31:
        raise ValueError(f"{name}: {x.shape[0]} rows of {gates}·{H} exceed int32 offsets")
    if x.is_cuda:
        programs_at_once = torch.cuda.get_device_properties(x.device).multi_processor_count
    else:
        programs_at_once = 1
    if units_per_program is None:
        block_u = next_power_of_2(math.ceil(H / programs_at_once))
    else:
        block_u = units_per_program
    if block_u < 1 or block_u & (block_u - 1):
        raise ValueError(f"{name}: units_per_program must be a power of 2, got {block_u}")
    programs = math.ceil(H / block_u)
    if x.is_cuda and programs > programs_at_once:
        raise ValueError(
            f"{name}: {programs} programs of {block_u} units exceed the "
            f"{programs_at_once} SMs that must hold them at once"
        )
    if not x.is_cuda and programs > 1 and len(batch_sizes) > 1:
        raise ValueError(
            f"{name}: Triton's interpreter runs programs one after another, so {programs} "
            "programs would wait forever at the barrier between steps"
        )
    block_k = next_power_of_2(H)
    weights = gates * block_u * block_k
    if weights > MAX_WEIGHTS_PER_PROGRAM:
        raise ValueError(
            f"{name}: {weights} weights per program exceed {MAX_WEIGHTS_PER_PROGRAM} "
            "(too few SMs for this hidden size)"
        )
    meta = {"BLOCK_U": block_u, "BLOCK_K": block_k, "num_warps": 4 if weights <= 8192 else 8}
    return (programs,), meta


def _states(initial: Tensor, rows: int) -> Tensor:
    """(B + rows, H) float32 state buffer with ``initial`` (B, H) in its first B rows."""
    states = initial.new_empty(initial.shape[0] + rows, initial.shape[1])
    states[: initial.shape[0]] = initial
    return states


def _step_tables(batch_sizes: Sequence[int], device: torch.device) -> tuple[Tensor, ...]:
    """First packed row of each step (T + 1,), state-buffer row of each step's first h_{t-1}
    (T,), and the zeroed barrier counter (1,); int32."""
    offsets = step_offsets(batch_sizes)
    batch = batch_sizes[0]
    prev = [0] + [batch + row for row in offsets[:-2]]

    def int32(values: list[int]) -> Tensor:
        return torch.tensor(values, dtype=torch.int32, device=device)

    return int32(offsets), int32(prev), int32([0])
