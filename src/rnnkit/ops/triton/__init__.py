"""Triton kernels for the fused ops on CUDA: the element-wise work of each time step.

The fused ops (:mod:`rnnkit.ops.lstm`, :mod:`~rnnkit.ops.gru`, :mod:`~rnnkit.ops.rnn`) keep their
matrix products in torch (cuBLAS); what runs between two products — gate activations, the cell
update, peepholes, and in the backward the gate pre-activation gradients and the carried cell
gradient — is one kernel launch per step here instead of several torch ops. fp32, bf16 and fp16
tensors; the kernels compute in fp32.

- :mod:`.lstm`, :mod:`.gru`, :mod:`.rnn`: the step classes the ops call, twins of their torch
  step classes (same constructor, same calls).
- :mod:`.persistent`: a forward-only LSTM/GRU whose recurrent weights stay on-chip for the whole
  sequence (inference at small batch).
- :mod:`.kernels`: the ``@triton.jit`` functions.

Importing this package does not import triton; :func:`available` says whether it can be.
Under ``TRITON_INTERPRET=1`` (set before triton is first imported) the kernels run on CPU
tensors in Triton's interpreter, which is how the tests run them without a GPU.
"""

from __future__ import annotations

import functools

__all__ = ["available"]


@functools.cache
def available() -> bool:
    """Whether triton imports (it is an optional dependency: Linux x86-64 with CUDA)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True
