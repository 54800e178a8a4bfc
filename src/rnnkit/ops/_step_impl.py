"""Which code runs the element-wise work of each time step in the fused ops.

Every fused op (``*_forward`` / ``*_backward``) takes ``step_impl``:

- ``"torch"``: torch ops (any device, any dtype);
- ``"triton"``: Triton kernels (:mod:`rnnkit.ops.triton`) for CUDA tensors, float32, bfloat16 or
  float16; on CPU tensors only in Triton's interpreter (``TRITON_INTERPRET=1``), which is how the
  tests run the kernels without a GPU;
- ``"c"``: C kernels (:mod:`rnnkit.ops.cpu`) for CPU tensors, float32 or float64, compiled at
  first use (a C compiler is needed);
- None, the default: Triton for CUDA tensors it handles when triton imports, the C kernels for
  CPU tensors they handle when they build, torch otherwise.

The RNN's step is a single torch op (its non-linearity), so it runs in torch under ``"c"``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rnnkit._env import switch
from rnnkit.ops import cpu as cpu_kernels
from rnnkit.ops import triton as triton_kernels

StepImpl = Literal["torch", "triton", "c"]

# The kernels load these, compute in float32 and store back; float64 stays with torch.
TRITON_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def resolve_step_impl(step_impl: StepImpl | None, like: Tensor) -> StepImpl:
    """``step_impl`` checked against ``like`` (a tensor of the op), or the default for it."""
    if step_impl is None:
        if like.is_cuda:
            fits = like.dtype in TRITON_DTYPES and triton_kernels.available()
            return "triton" if fits else "torch"
        fits = like.device.type == "cpu" and like.dtype in cpu_kernels.DTYPES
        return "c" if fits and cpu_kernels.available() else "torch"
    if step_impl == "torch":
        return "torch"
    if step_impl == "c":
        return _check_c(like)
    if step_impl != "triton":
        raise ValueError(f"step_impl must be 'torch', 'triton', 'c' or None, got {step_impl!r}")
    if not triton_kernels.available():
        raise RuntimeError("step_impl='triton' needs the triton package: pip install triton")
    if like.dtype not in TRITON_DTYPES:
        raise ValueError(f"step_impl='triton' runs float32, bfloat16 or float16, got {like.dtype}")
    interpreted = switch("TRITON_INTERPRET", default=False)
    if not like.is_cuda and not interpreted:
        raise ValueError(
            f"step_impl='triton' needs CUDA tensors, got {like.device.type} ones "
            "(TRITON_INTERPRET=1 runs the kernels on CPU in Triton's interpreter)"
        )
    return "triton"


def _check_c(like: Tensor) -> StepImpl:
    if like.device.type != "cpu":
        raise ValueError(f"step_impl='c' needs CPU tensors, got {like.device.type} ones")
    if like.dtype not in cpu_kernels.DTYPES:
        raise ValueError(f"step_impl='c' runs float32 or float64, got {like.dtype}")
    if not cpu_kernels.available():
        raise RuntimeError(f"step_impl='c': {cpu_kernels.unavailable_reason()}")
    return "c"
