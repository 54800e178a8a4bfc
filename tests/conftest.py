"""Fixtures for the whole suite.

- One torch intra-op thread for every test: the problems are tiny, and with two OpenMP threads on
  a busy 2-core machine every small product waits for the second thread to be scheduled (10–100×
  slower). One thread also fixes the summation order, hence the round-off, on every machine.
- ``nan_filled_empty``: ``torch.empty``, ``torch.empty_like`` and ``Tensor.new_empty`` return
  NaN-filled tensors (floating dtypes), so a buffer code forgets to write poisons its result and
  fails loudly (the ops and nn tests turn it on for every test).
- The header names the CPU model: the C step kernels are compiled for the CPU they run on
  (``-march=native``), so a failure report needs it.
"""

from __future__ import annotations

import functools
import math
import os
import platform
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import Tensor

from rnnkit._machine import cpu_model


def pytest_report_header(config: pytest.Config) -> str:
    return f"cpu: {cpu_model()} ({os.cpu_count()} cores, {platform.machine()})"


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _nan_filled(factory: Callable[..., Tensor]) -> Callable[..., Tensor]:
    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Tensor:
        tensor = factory(*args, **kwargs)
        if tensor.is_floating_point() or tensor.is_complex():
            with torch.no_grad():
                tensor.fill_(math.nan)
        return tensor

    return wrapper


@pytest.fixture
def nan_filled_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN-filled ``torch.empty``/``empty_like``/``new_empty`` for one test; restored after."""
    monkeypatch.setattr(torch, "empty", _nan_filled(torch.empty))
    monkeypatch.setattr(torch, "empty_like", _nan_filled(torch.empty_like))
    monkeypatch.setattr(torch.Tensor, "new_empty", _nan_filled(torch.Tensor.new_empty))
