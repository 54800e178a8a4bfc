"""Keeping an op's cache on an autograd context without reference cycles.

Tensors go through ``ctx.save_for_backward`` (so outputs in the cache do not keep their own graph
alive and in-place edits of them are caught); everything else is kept on ``ctx`` as is.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

import torch
from torch import Tensor

CacheT = TypeVar("CacheT", bound=NamedTuple)


def save_cache(ctx: Any, cache: NamedTuple) -> None:
    """Store ``cache`` on ``ctx``: its tensor fields saved for backward, the rest as attributes."""
    fields = cache._asdict()
    ctx.cache_type = type(cache)
    ctx.cache_tensor_names = [name for name, value in fields.items() if isinstance(value, Tensor)]
    ctx.cache_other = {n: v for n, v in fields.items() if not isinstance(v, Tensor)}
    ctx.save_for_backward(*(fields[name] for name in ctx.cache_tensor_names))


def load_cache(ctx: Any) -> Any:
    """Rebuild the cache stored by :func:`save_cache`."""
    tensors = dict(zip(ctx.cache_tensor_names, ctx.saved_tensors, strict=True))
    return ctx.cache_type(**tensors, **ctx.cache_other)


LAYER_TWICE = (
    "run the layer with backend='loop' (or 'native' where torch has a kernel), which autograd "
    "differentiates twice"
)


def refuse_double_backward(op: str, *, instead: str = LAYER_TWICE) -> None:
    """One clear error when ``op``'s hand-written backward is asked for a graph of itself
    (``create_graph=True``: gradient penalties, Hessian-vector products, meta-learning): that
    backward is not differentiable, and a second derivative through it would silently be zero.
    In a custom backward, gradients are recorded exactly when the caller asked for a graph."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            f"{op}: double backward (create_graph=True) is not supported by its hand-written "
            f"backward, and would give wrong second derivatives; {instead}"
        )
