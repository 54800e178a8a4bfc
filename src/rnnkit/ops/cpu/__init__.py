"""C kernels for the fused ops on the CPU: the element-wise work of each time step.

Between two matrix products of a step, the torch step classes run six to ten small torch ops,
and their backward first computes its factors for all steps at once (large temporaries); the
kernels here do each step's work in one vectorised pass over its rows, reading the saved
activations directly. float32 and float64 tensors; the matrix products stay in torch
(:mod:`rnnkit.ops._step_matmul`).

- :mod:`.lstm`, :mod:`.gru`: the step classes the ops call, twins of their torch step classes
  (same constructor, same calls). The RNN's step is a single torch op and has none.
- ``kernels.c`` / ``step_kernels.h``: the C source, compiled at first use (:mod:`._build`).

:func:`available` says whether the kernels could be built and loaded here (a C compiler is
needed; without one the fused ops run their torch step classes).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from rnnkit.ops.cpu._build import BuildError, load_library

__all__ = ["DTYPES", "available", "kernel", "step_pointers", "unavailable_reason"]

DTYPES = {torch.float32: "f32", torch.float64: "f64"}

# Each kernel's arguments: "p" a pointer (a tensor's data_ptr), "n" a size or row stride.
_SIGNATURES = {
    "lstm_forward": "nnpnpnppppn",
    "lstm_backward": "nnpnpnpnpnpppnpn",
    "gru_forward_reset_after": "nnpnpnpnpn",
    "gru_backward_reset_after": "nnpnpnpnpnpnppn",
    "gru_forward_reset_gate": "nnpnpnpn",
    "gru_forward_update": "nnpnpnpn",
    "gru_backward_update": "nnpnpnpnpnpn",
    "gru_backward_reset_gate": "nnpnpnpnpnpn",
}


@functools.cache
def _library() -> ctypes.CDLL | BuildError:
    try:
        return load_library()
    except BuildError as error:
        return error


def available() -> bool:
    """Whether the kernels are built and loaded (compiling them on the first call)."""
    return not isinstance(_library(), BuildError)


def unavailable_reason() -> str | None:
    """Why :func:`available` is False, or None."""
    library = _library()
    return str(library) if isinstance(library, BuildError) else None


@functools.cache
def kernel(name: str, dtype: torch.dtype) -> Callable[..., None]:
    """The C function ``name`` for ``dtype`` (float32 or float64), its argument types set."""
    library = _library()
    if isinstance(library, BuildError):
        raise RuntimeError(f"rnnkit's CPU kernels are unavailable: {library}")
    function = getattr(library, f"{name}_{DTYPES[dtype]}")
    kinds = {"p": ctypes.c_void_p, "n": ctypes.c_long}
    function.argtypes = [kinds[kind] for kind in _SIGNATURES[name]]
    function.restype = None
    return function  # type: ignore[no-any-return]


def step_pointers(rows: Tensor, sizes: Sequence[int]) -> list[int]:
    """The address of each step's first row of ``rows`` (N, W), packed rows (see
    :mod:`rnnkit.ops._packed`); columns must be unit-stride."""
    if rows.stride(1) != 1:
        raise ValueError(f"the CPU kernels need unit-stride columns, got strides {rows.stride()}")
    row_bytes = rows.stride(0) * rows.element_size()
    pointers, address = [], rows.data_ptr()
    for size in sizes:
        pointers.append(address)
        address += size * row_bytes
    return pointers
