"""Shared fixtures for the nn tests.

- every buffer from ``torch.empty``, ``torch.empty_like`` or ``Tensor.new_empty`` is NaN-filled
  (floating dtypes), so a row a layer forgets to write poisons its result and fails loudly;
- one intra-op thread per test (the problems are tiny);
- ``assert_close(name, ref, got, tol)``, which names the tensor that differs.

tests/ is not a package (``--import-mode=importlib``), so helpers are handed out as fixtures.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import Tensor

# float64 against float64: two correct implementations differ by round-off (~1e-15); a wrong
# term is off by 1e-3 or more.
TOL64 = 1e-10


def _nan_filled(factory: Callable[..., Tensor]) -> Callable[..., Tensor]:
    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Tensor:
        tensor = factory(*args, **kwargs)
        if tensor.is_floating_point() or tensor.is_complex():
            with torch.no_grad():
                tensor.fill_(math.nan)
        return tensor

    return wrapper


@pytest.fixture(autouse=True)
def nan_filled_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """``torch.empty``, ``torch.empty_like`` and ``Tensor.new_empty`` return NaN-filled tensors
    for the duration of each test; monkeypatch restores them after."""
    monkeypatch.setattr(torch, "empty", _nan_filled(torch.empty))
    monkeypatch.setattr(torch, "empty_like", _nan_filled(torch.empty_like))
    monkeypatch.setattr(torch.Tensor, "new_empty", _nan_filled(torch.Tensor.new_empty))


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """The sizes here are tiny: intra-op threads only add contention (10x slower on a busy
    2-core machine). Restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def assert_close_named(name: str, ref: Tensor, got: Tensor | None, tol: float = TOL64) -> None:
    """Assert ``got`` matches ``ref`` elementwise (|got − ref| ≤ tol·(1 + |ref|), no NaN),
    naming the tensor and the largest error on failure."""
    assert got is not None, f"{name}: got None, expected a tensor of shape {tuple(ref.shape)}"
    ref = torch.as_tensor(ref).detach().to(got.dtype)
    assert tuple(got.shape) == tuple(ref.shape), (
        f"{name}: shape {tuple(got.shape)}, expected {tuple(ref.shape)}"
    )
    err = (got.detach() - ref).abs()
    if not bool((err <= tol + tol * ref.abs()).all()):  # NaN compares False
        worst = float(err.nan_to_num(math.inf).max())
        raise AssertionError(
            f"{name}: max abs error {worst:.3e} (tol {tol:g}); "
            f"NaNs in result: {int(got.isnan().sum())}"
        )


@pytest.fixture
def assert_close() -> Callable[..., None]:
    """:func:`assert_close_named`, as a fixture: ``assert_close(name, ref, got, tol)``."""
    return assert_close_named
