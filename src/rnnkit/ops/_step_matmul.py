"""The matrix product of each time step in the fused ops: ``rows @ M``, one matrix M, many steps.

A step's product is small (a batch of rows times a hidden-size matrix) and repeats T times with
the same M. On the CPU, oneDNN's matmul with M packed once per sequence into its own blocked
layout beats torch's ``mm`` (MKL) here once both sides of M are 512 or more and a step has 8 rows
or more: 1.2–2.4× per product at hidden size 512, 1.6–4.8× at 1024. At 128 and 256 its fixed
cost per call mostly loses (0.1–1.5×), for a single row it is mixed (0.7–2.6×), and packing M
(0.7–14 ms at 512–1024) pays back after 4–47 steps (``python benchmarks/bench_step_matmul.py``,
``benchmarks/results/step-matmul-2026-11-30.md``). So :class:`StepMatmul` packs M for oneDNN
where that pays (float32 CPU tensors, the sizes below) and runs torch's products everywhere
else. ``RNNKIT_ONEDNN=0`` (or torch's ``torch.backends.mkldnn.flags(enabled=False)``) keeps
torch's products everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import Tensor

from rnnkit._env import switch

ONEDNN_MIN_SIZE = 512  # both sides of M
ONEDNN_MIN_BATCH = 8  # rows of the first step
ONEDNN_MIN_STEPS = 32


class StepMatmul:
    """``rows @ matrix`` at each step of packed sequences with ``sizes`` rows per step (rows
    (sizes[t], K)); matrix (K, N), fixed while the object lives (oneDNN reads a packed copy)."""

    def __init__(self, matrix: Tensor, sizes: Sequence[int]) -> None:
        self.matrix = matrix
        self.packed = _pack(matrix, sizes[0]) if uses_onednn(matrix, sizes) else None

    def __call__(self, rows: Tensor, bias: Tensor | None = None) -> Tensor:
        """rows (b, K) @ matrix (+ bias (N,)): a new (b, N) tensor."""
        if self.packed is not None:
            return _onednn_linear(rows, self.packed, bias)
        return rows @ self.matrix if bias is None else torch.addmm(bias, rows, self.matrix)

    def add_to(self, out: Tensor, rows: Tensor) -> None:
        """out (b, N) += rows (b, K) @ matrix."""
        if self.packed is not None:
            out.add_(_onednn_linear(rows, self.packed, None))
        else:
            out.addmm_(rows, self.matrix)

    def write(self, out: Tensor, rows: Tensor, bias: Tensor | None = None) -> None:
        """out (b, N) = rows (b, K) @ matrix (+ bias (N,))."""
        if self.packed is not None:
            out.copy_(_onednn_linear(rows, self.packed, bias))
        elif bias is None:
            torch.mm(rows, self.matrix, out=out)
        else:
            torch.addmm(bias, rows, self.matrix, out=out)


def uses_onednn(matrix: Tensor, sizes: Sequence[int]) -> bool:
    """Whether :class:`StepMatmul` runs ``matrix``'s products over steps of ``sizes`` rows in
    oneDNN."""
    return (
        matrix.device.type == "cpu"
        and matrix.dtype == torch.float32
        and min(matrix.shape) >= ONEDNN_MIN_SIZE
        and sizes[0] >= ONEDNN_MIN_BATCH
        and len(sizes) >= ONEDNN_MIN_STEPS
        and not (matrix.requires_grad and torch.is_grad_enabled())  # its op has no autograd
        and onednn_off_reason() is None
    )


def onednn_off_reason() -> str | None:
    """Why no product runs in oneDNN whatever its size, or None when the sizes decide."""
    if not switch("RNNKIT_ONEDNN", default=True):
        return "RNNKIT_ONEDNN=0"
    if not torch.backends.mkldnn.enabled:  # torch.backends.mkldnn.flags(enabled=False)
        return "torch's oneDNN switch is off"
    if not onednn_available():
        return "oneDNN's matmul ops unavailable in this torch"
    return None


@functools.cache
def onednn_available() -> bool:
    """Whether torch's oneDNN matmul ops (the ones torch.compile's CPU backend calls) are there
    and agree with torch's ``mm`` on a small problem."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        generator = torch.Generator().manual_seed(0)  # the user's random state stays as it was

        def randn(*size: int) -> Tensor:  # whatever default device and dtype are set
            return torch.randn(size, generator=generator, device="cpu", dtype=torch.float32)

        matrix, rows, bias = randn(24, 40), randn(3, 24), randn(40)
        got = _onednn_linear(rows, _pack(matrix, 3), bias)
    except (AttributeError, RuntimeError):  # an op missing or refusing in this torch build
        return False
    return torch.allclose(got, torch.addmm(bias, rows, matrix), rtol=1e-4, atol=1e-5)


def _pack(matrix: Tensor, batch: int) -> Tensor:
    """matrix (K, N) as oneDNN's linear weight (N, K), reordered for ``batch`` rows."""
    weight = matrix.t().contiguous()
    return torch.ops.mkldnn._reorder_linear_weight(weight, batch)  # type: ignore[no-any-return]


def _onednn_linear(rows: Tensor, packed: Tensor, bias: Tensor | None) -> Tensor:
    return torch.ops.mkldnn._linear_pointwise(  # type: ignore[no-any-return]
        rows, packed, bias, "none", [], ""
    )
