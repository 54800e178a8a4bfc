"""The Triton kernels' tests run them on CPU tensors in Triton's interpreter.

TRITON_INTERPRET is read when a ``@triton.jit`` function is defined, that is when
:mod:`rnnkit.ops.triton.kernels` is first imported: the ops import it only for
``step_impl="triton"``, and pytest imports this conftest before anything in this folder runs.
"""

from __future__ import annotations

import os

import pytest

os.environ["TRITON_INTERPRET"] = "1"


@pytest.fixture(autouse=True)
def _kernels_interpreted() -> None:
    """Fail loudly, not with a bad pointer, if the kernels were built before the flag was set."""
    pytest.importorskip("triton")
    from rnnkit.ops.triton.kernels import lstm

    assert type(lstm.forward_step).__name__ == "InterpretedFunction", (
        "rnnkit.ops.triton.kernels was imported before TRITON_INTERPRET=1 was set"
    )
