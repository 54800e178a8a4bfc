"""How the fused ops meet ``torch.compile``: run as they are, a graph break, not traced.

Traced, a fused op's Python time loop would be unrolled step by step (and recompiled for every
sequence length). ``torch.compiler.disable`` makes the op opaque, but applied at import it
imports ``torch._dynamo`` (and with it triton) whenever rnnkit is imported: about 1.5 s, and
before a user could set ``TRITON_INTERPRET``. So the op is disabled on the first call made
while torch.compile is at work, when dynamo is loaded anyway.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch

F = TypeVar("F", bound=Callable[..., Any])


def opaque_to_compile(fn: F) -> F:
    """``fn``, which ``torch.compile`` runs as it is rather than tracing into it."""
    disabled: list[Callable[..., Any]] = []  # torch.compiler.disable(fn), made once when needed

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if torch.compiler.is_compiling():
            if not disabled:
                disabled.append(torch.compiler.disable(fn))
            return disabled[0](*args, **kwargs)
        return fn(*args, **kwargs)

    return cast(F, wrapper)
