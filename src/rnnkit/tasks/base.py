"""The one contract every task model keeps, so that one :class:`~rnnkit.training.Trainer` drives
them all.

A task model is an ``nn.Module`` that knows its own batches:

- ``forward_loss(batch) -> Tensor``: the mean training loss of a batch (a scalar);
- ``predict(batch) -> Tensor``: predictions for a batch, without gradients;
- ``evaluate(batches) -> dict[str, float]``: metrics over an iterable of batches, ``loss`` among
  them, named as DESIGN.md names them (``accuracy``, ``macro_f1``, ``perplexity``, …).

``forward(batch)`` is ``forward_loss(batch)``, so that ``DistributedDataParallel(model)(batch)``
synchronises gradients as it should. A batch is any object with a ``to(device)`` method, or a
tensor, or a tuple/list/dict of them (see :func:`move_to`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn


class TaskModel(nn.Module):
    """Base class of task models; subclasses implement the three methods below."""

    def forward_loss(self, batch: Any) -> Tensor:
        """Mean training loss of ``batch``: a scalar tensor."""
        raise NotImplementedError

    def predict(self, batch: Any) -> Tensor:
        """Predictions for ``batch`` (no gradients)."""
        raise NotImplementedError

    def evaluate(self, batches: Iterable[Any]) -> dict[str, float]:
        """Metrics over ``batches``, including ``loss``."""
        raise NotImplementedError

    def forward(self, batch: Any) -> Tensor:
        return self.forward_loss(batch)

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device


def move_to(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor in it on ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if is_dataclass(batch) and not isinstance(batch, type):
        changes = {f.name: move_to(getattr(batch, f.name), device) for f in fields(batch)}
        return replace(batch, **changes)
    if isinstance(batch, tuple | list):
        return type(batch)(move_to(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: move_to(value, device) for key, value in batch.items()}
    return batch
