"""The one recurrent-encoder config every task shares, and the one factory that builds it.

A task's model section holds an ``encoder`` (and a seq2seq model a ``decoder``) of type
:class:`EncoderConfig`; :func:`build_encoder` turns it into an rnnkit layer. Options that apply
to one cell only (``peephole``, ``reset_after``, ``nonlinearity``) are refused on the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn._checks import BACKENDS

__all__ = ["CELLS", "CELL_VARIANTS", "EncoderConfig", "build_encoder", "variant"]

CELLS: tuple[str, ...] = ("rnn", "lstm", "gru")
# The five cell variants a task can be trained with, as (cell, option overrides).
CELL_VARIANTS: dict[str, dict[str, object]] = {
    "rnn": {"cell": "rnn"},
    "lstm": {"cell": "lstm"},
    "lstm-peephole": {"cell": "lstm", "peephole": True},
    "gru": {"cell": "gru"},
    "gru-reset-before": {"cell": "gru", "reset_after": False},
}


@dataclass(frozen=True)
class EncoderConfig:
    """A stack of rnnkit recurrent layers; every field has a default."""

    cell: str = "lstm"  # rnn | lstm | gru
    hidden_size: int = 128  # H of each direction
    num_layers: int = 1  # stacked recurrent layers
    bidirectional: bool = True  # read the sequence both ways
    layer_dropout: float = 0.0  # between stacked recurrent layers
    peephole: bool = False  # LSTM only: peephole connections
    reset_after: bool = True  # GRU only: torch's GRU (True) or Cho et al.'s (False)
    nonlinearity: str = "tanh"  # RNN only: tanh | relu
    backend: str = "auto"  # auto | native | fused | loop
    weight_drop: float = 0.0  # DropConnect on the recurrent weights
    zoneout: float = 0.0  # chance a unit keeps its previous state

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"encoder: cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.backend not in BACKENDS:
            raise ValueError(
                f"encoder: backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}"
            )
        if self.hidden_size < 1 or self.num_layers < 1:
            raise ValueError(
                f"encoder: hidden_size and num_layers must be ≥ 1, got {self.hidden_size} and "
                f"{self.num_layers}"
            )
        for rate in ("layer_dropout", "weight_drop", "zoneout"):
            if not 0 <= getattr(self, rate) < 1:
                raise ValueError(f"encoder: {rate} must be in [0, 1), got {getattr(self, rate)}")
        for option, cell, default in (
            ("peephole", "lstm", False),
            ("reset_after", "gru", True),
            ("nonlinearity", "rnn", "tanh"),
        ):
            if getattr(self, option) != default and self.cell != cell:
                raise ValueError(
                    f"encoder: {option}={getattr(self, option)!r} applies to the {cell} cell "
                    f"only, not to {self.cell}"
                )
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"encoder: nonlinearity must be tanh or relu, got {self.nonlinearity!r}"
            )

    @property
    def output_size(self) -> int:
        """Features per time step of the top layer: D·H."""
        return self.hidden_size * (2 if self.bidirectional else 1)


def variant(name: str) -> dict[str, object]:
    """The encoder settings of a named cell variant (``lstm-peephole``, ``gru-reset-before``…)."""
    if name not in CELL_VARIANTS:
        raise ValueError(f"unknown cell {name!r}; cells: {', '.join(CELL_VARIANTS)}")
    return dict(CELL_VARIANTS[name])


def build_encoder(config: EncoderConfig, input_size: int) -> RNN | LSTM | GRU:
    """The batch-first rnnkit layer ``config`` describes, reading ``input_size`` features."""
    H, L = config.hidden_size, config.num_layers
    dropout = config.layer_dropout if L > 1 else 0.0
    shared: dict[str, Any] = {
        "batch_first": True, "dropout": dropout, "bidirectional": config.bidirectional,
        "backend": config.backend, "weight_drop": config.weight_drop, "zoneout": config.zoneout,
    }  # fmt: skip
    if config.cell == "lstm":
        return LSTM(input_size, H, L, peephole=config.peephole, **shared)
    if config.cell == "gru":
        return GRU(input_size, H, L, reset_after=config.reset_after, **shared)
    return RNN(input_size, H, L, nonlinearity=config.nonlinearity, **shared)
