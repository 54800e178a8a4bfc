"""Launch geometry of the step kernels: one (BLOCK_B, BLOCK_H) tile of a step's rows per program."""

from __future__ import annotations

import functools

TILE_ELEMENTS = 1024  # per program: 8 per thread with the default 4 warps
MAX_BLOCK_H = 256


def next_power_of_2(n: int) -> int:
    """The smallest power of 2 ≥ n (≥ 1)."""
    return 1 << max(n - 1, 0).bit_length()


@functools.cache
def step_grid(rows: int, H: int) -> tuple[tuple[int, int], dict[str, int]]:
    """(grid, tile sizes) for a step of ``rows`` sequences and hidden size ``H``."""
    block_h = min(next_power_of_2(H), MAX_BLOCK_H)
    block_b = min(next_power_of_2(rows), max(1, TILE_ELEMENTS // block_h))
    grid = (-(-rows // block_b), -(-H // block_h))
    return grid, {"BLOCK_B": block_b, "BLOCK_H": block_h}
