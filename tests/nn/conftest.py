"""Shared fixtures for the nn tests.

- every buffer from ``torch.empty``, ``torch.empty_like`` or ``Tensor.new_empty`` is NaN-filled
  (floating dtypes; tests/conftest.py), so a row a layer forgets to write fails loudly;
- ``assert_close(name, ref, got, tol)``, which names the tensor that differs.

tests/ is not a package (``--import-mode=importlib``), so helpers are handed out as fixtures.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

# float64 against float64: two correct implementations differ by round-off (~1e-15); a wrong
# term is off by 1e-3 or more.
TOL64 = 1e-10


@pytest.fixture(autouse=True)
def _poisoned_empty(nan_filled_empty: None) -> None:
    """Every nn test runs with NaN-filled empty buffers (tests/conftest.py)."""


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
