"""The public surface of rnnkit: `__all__` pinned, each name importable, docstring examples run."""

from __future__ import annotations

import doctest
import importlib
from types import ModuleType

import pytest
import torch
from torch import nn

import rnnkit
import rnnkit.nn.cells
import rnnkit.nn.layers

PUBLIC = {"GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell", "__version__"}


def test_all_is_pinned() -> None:
    assert set(rnnkit.__all__) == PUBLIC
    assert len(rnnkit.__all__) == len(PUBLIC)  # no duplicates


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_name_imports(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from rnnkit import {name}", namespace)  # the spelling a user writes
    assert namespace[name] is getattr(rnnkit, name)
    if name == "__version__":
        assert isinstance(rnnkit.__version__, str) and rnnkit.__version__
    else:
        assert issubclass(getattr(rnnkit, name), nn.Module)
        assert getattr(rnnkit, name) is getattr(importlib.import_module("rnnkit.nn"), name)


@pytest.mark.parametrize(
    "module", [rnnkit, rnnkit.nn.layers, rnnkit.nn.cells], ids=lambda m: m.__name__
)
def test_docstring_examples_pass(module: ModuleType) -> None:
    torch.manual_seed(0)
    result = doctest.testmod(module, extraglobs={"torch": torch}, verbose=False, report=False)
    assert result.attempted > 0, f"{module.__name__} has no >>> examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
