"""Small helpers shared by the reference cells: the float64 array type, σ and shape checks."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
"""A float64 NumPy array: the only array type the reference uses."""


def sigmoid(x: Array) -> Array:
    """σ(x) = 1 / (1 + exp(−x)), evaluated without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    out: Array = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def as_float64(a: Array) -> Array:
    """``a`` as a float64 array (no copy when it already is one)."""
    return np.asarray(a, dtype=np.float64)


def check_ndim(func: str, name: str, a: Array, ndim: int, dims: str) -> None:
    """Raise ``ValueError`` unless ``a`` has ``ndim`` dimensions (``dims`` names them)."""
    if a.ndim != ndim:
        raise ValueError(f"{func}: {name} must be {ndim}-D {dims}, got shape {tuple(a.shape)}")


def check_shape(func: str, name: str, a: Array, shape: tuple[int, ...], dims: str) -> None:
    """Raise ``ValueError`` unless ``a.shape == shape`` (``dims`` names the axes, e.g. "(B, H)")."""
    if tuple(a.shape) != shape:
        raise ValueError(f"{func}: {name} must have shape {dims} = {shape}, got {tuple(a.shape)}")
