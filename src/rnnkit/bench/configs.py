"""The cell configurations the benchmark times, and how to build each as an rnnkit layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rnnkit.nn import GRU, LSTM, RNN

Layer = LSTM | GRU | RNN


@dataclass(frozen=True)
class CellConfig:
    """One cell configuration: a family (lstm, gru, rnn) with its options.

    ``torch_layer`` is torch's own layer for it, None where torch has no kernel; ``reference``
    names the configuration whose torch layer the ratios ``vs_native`` read against (itself, or
    the plain cell of the same size for the variants torch lacks).
    """

    name: str  # e.g. "lstm-peephole"
    family: str  # "lstm", "gru" or "rnn"
    options: tuple[tuple[str, Any], ...]  # keyword options of the rnnkit layer
    torch_layer: Callable[..., nn.Module] | None  # torch.nn.LSTM / GRU / RNN; None: torch lacks it
    reference: str  # the configuration whose torch layer is the "cuDNN-class" reference

    def layer(
        self, hidden: int, *, backend: str, device: torch.device, dtype: torch.dtype
    ) -> Layer:
        """A one-layer rnnkit layer, input size = hidden size, sequence-first (T, B, H)."""
        cls: Any = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[self.family]
        layer: Layer = cls(
            hidden, hidden, backend=backend, device=device, dtype=dtype, **dict(self.options)
        )
        return layer

    def option(self, name: str, default: Any) -> Any:
        """The value of one option (e.g. ``peephole``), ``default`` where it is not set."""
        return dict(self.options).get(name, default)


CONFIGS: dict[str, CellConfig] = {
    c.name: c
    for c in (
        CellConfig("lstm", "lstm", (), nn.LSTM, "lstm"),
        CellConfig("lstm-peephole", "lstm", (("peephole", True),), None, "lstm"),
        CellConfig("gru", "gru", (), nn.GRU, "gru"),
        CellConfig("gru-reset-before", "gru", (("reset_after", False),), None, "gru"),
        CellConfig("rnn-tanh", "rnn", (("nonlinearity", "tanh"),), nn.RNN, "rnn-tanh"),
    )
}
