"""Which code runs the element-wise work of each time step in the fused ops: torch or Triton.

Every fused op (``*_forward`` / ``*_backward``) takes ``step_impl``: ``"torch"``, ``"triton"`` or
None, the default, which picks Triton for CUDA tensors of a dtype the kernels handle whenever
triton imports, torch otherwise. Asking for ``"triton"`` on CPU tensors only works in Triton's
interpreter (``TRITON_INTERPRET=1``), which is how the tests run the kernels without a GPU.
"""

from __future__ import annotations

import os
from typing import Literal

import torch
from torch import Tensor

from rnnkit.ops import triton as triton_kernels

StepImpl = Literal["torch", "triton"]

# The kernels load these, compute in float32 and store back; float64 stays with torch.
TRITON_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def resolve_step_impl(step_impl: StepImpl | None, like: Tensor) -> StepImpl:
    """``step_impl`` checked against ``like`` (a tensor of the op), or the default for it."""
    if step_impl is None:
        fits = like.is_cuda and like.dtype in TRITON_DTYPES
        return "triton" if fits and triton_kernels.available() else "torch"
    if step_impl == "torch":
        return "torch"
    if step_impl != "triton":
        raise ValueError(f"step_impl must be 'torch', 'triton' or None, got {step_impl!r}")
    if not triton_kernels.available():
        raise RuntimeError("step_impl='triton' needs the triton package: pip install triton")
    if like.dtype not in TRITON_DTYPES:
        raise ValueError(f"step_impl='triton' runs float32, bfloat16 or float16, got {like.dtype}")
    interpreted = os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")
    if not like.is_cuda and not interpreted:
        raise ValueError(
            f"step_impl='triton' needs CUDA tensors, got {like.device.type} ones "
            "(TRITON_INTERPRET=1 runs the kernels on CPU in Triton's interpreter)"
        )
    return "triton"
