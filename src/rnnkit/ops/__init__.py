"""rnnkit.ops — the functional core.

Per cell family: a whole-sequence forward and a hand-written backward over packed rows
(``*_forward`` / ``*_backward``), an ``autograd.Function`` that only calls them (``*_fused``),
one differentiable step (``*_cell``) and the plain per-step autograd loop (``*_loop``).
The fused ops' per-step element-wise work runs in Triton kernels on CUDA when triton imports
(:mod:`rnnkit.ops.triton`), in C kernels on the CPU when they build (:mod:`rnnkit.ops.cpu`), in
torch ops otherwise (chosen by ``step_impl``, :mod:`rnnkit.ops._step_impl`); each step's matrix
product runs in torch, or in oneDNN's packed matmul on the CPU where that is faster
(:mod:`rnnkit.ops._step_matmul`). :func:`describe` says which, and why, for a device and dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.ops import _step_impl, _step_matmul
from rnnkit.ops import cpu as _cpu_kernels
from rnnkit.ops._packed import reverse_index, step_offsets
from rnnkit.ops.gru import gru_backward, gru_cell, gru_forward, gru_fused, gru_loop
from rnnkit.ops.lstm import lstm_backward, lstm_cell, lstm_forward, lstm_fused, lstm_loop
from rnnkit.ops.rnn import rnn_backward, rnn_cell, rnn_forward, rnn_fused, rnn_loop

__all__ = [
    "describe",
    "gru_backward",
    "gru_cell",
    "gru_forward",
    "gru_fused",
    "gru_loop",
    "lstm_backward",
    "lstm_cell",
    "lstm_forward",
    "lstm_fused",
    "lstm_loop",
    "reverse_index",
    "rnn_backward",
    "rnn_cell",
    "rnn_forward",
    "rnn_fused",
    "rnn_loop",
    "step_offsets",
]


def describe(
    device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> dict[str, Any]:
    """What runs the fused ops' per-step work on ``device`` for ``dtype`` tensors, and why.

    Returns a JSON-ready dict:

    - ``"device"``, ``"dtype"``: as asked, as strings;
    - ``"step_kernels"``: the element-wise work of each step (the default ``step_impl``):
      ``{"impl": "c" | "triton" | "torch", "module": "rnnkit.ops.cpu" | "rnnkit.ops.triton" |
      None, "reason": str}`` (the RNN's step is one torch op: it runs in torch under ``"c"``);
    - ``"step_products"``: each step's matrix product
      (:class:`~rnnkit.ops._step_matmul.StepMatmul`): ``{"impl": "onednn" | "torch",
      "library": "oneDNN" | "MKL" | "cuBLAS" | "torch", "reason": str,
      "onednn_from": {"size": int, "batch": int, "steps": int} | None}``; with ``"onednn"`` a
      product runs in oneDNN (weights packed once per sequence) when both sides of its matrix,
      the first step's rows and the steps reach ``onednn_from``, in MKL below;
    - ``"triton"``: ``{"runs": bool, "reason": str}``, whether ``step_impl="triton"`` (and the
      persistent kernels of :mod:`rnnkit.ops.triton.persistent`) can run here.

    >>> describe("cpu")["step_kernels"]["impl"] in ("c", "torch")
    True
    """
    device = torch.device(device)
    try:
        like: torch.Tensor | None = torch.empty(0, device=device, dtype=dtype)
    except (RuntimeError, AssertionError) as error:  # no such device here (a CPU-only torch)
        like, unusable = None, f"torch cannot use {device} here: {error}"
    return {
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "step_kernels": (
            _describe_step_kernels(like)
            if like is not None
            else {"impl": None, "module": None, "reason": unusable}
        ),
        "step_products": _describe_step_products(device, dtype),
        "triton": (
            _describe_triton(like) if like is not None else {"runs": False, "reason": unusable}
        ),
    }


def _describe_step_kernels(like: torch.Tensor) -> dict[str, Any]:
    impl = _step_impl.resolve_step_impl(None, like)
    dtype = str(like.dtype).removeprefix("torch.")
    if impl == "c":
        reason = f"rnnkit's C kernels built and loaded here; they run {dtype} on the CPU"
        return {"impl": impl, "module": "rnnkit.ops.cpu", "reason": reason}
    if impl == "triton":
        reason = f"triton imports; its kernels run {dtype} on CUDA"
        return {"impl": impl, "module": "rnnkit.ops.triton", "reason": reason}
    if like.device.type == "cpu":
        if like.dtype not in _cpu_kernels.DTYPES:
            reason = f"the C kernels run float32 or float64, not {dtype}"
        else:
            reason = f"C kernels unavailable: {_cpu_kernels.unavailable_reason()}"
    elif like.is_cuda:
        if like.dtype not in _step_impl.TRITON_DTYPES:
            reason = f"the Triton kernels run float32, bfloat16 or float16, not {dtype}"
        else:
            reason = "triton does not import"
    else:
        reason = f"rnnkit has no step kernels for {like.device.type} tensors"
    return {"impl": impl, "module": None, "reason": reason}


def _describe_step_products(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    if device.type != "cpu":
        library = "cuBLAS" if device.type == "cuda" else "torch"
        reason = "oneDNN's packed products run on the CPU only"
        return {"impl": "torch", "library": library, "reason": reason, "onednn_from": None}
    off = _step_matmul.onednn_off_reason()
    if off is None and dtype != torch.float32:
        off = f"oneDNN's packed products run float32 only, not {str(dtype).removeprefix('torch.')}"
    if off is not None:
        return {"impl": "torch", "library": "MKL", "reason": off, "onednn_from": None}
    sizes = {
        "size": _step_matmul.ONEDNN_MIN_SIZE,
        "batch": _step_matmul.ONEDNN_MIN_BATCH,
        "steps": _step_matmul.ONEDNN_MIN_STEPS,
    }
    reason = (
        "oneDNN's packed matmul beats torch's (MKL) from these sizes; its fixed cost loses below"
    )
    return {"impl": "onednn", "library": "oneDNN", "reason": reason, "onednn_from": sizes}


def _describe_triton(like: torch.Tensor) -> dict[str, Any]:
    try:
        _step_impl.resolve_step_impl("triton", like)
    except (RuntimeError, ValueError) as error:
        return {"runs": False, "reason": str(error)}
    where = "on CUDA" if like.is_cuda else "on the CPU in Triton's interpreter (TRITON_INTERPRET)"
    dtype = str(like.dtype).removeprefix("torch.")
    return {"runs": True, "reason": f"triton imports; its kernels run {dtype} {where}"}
