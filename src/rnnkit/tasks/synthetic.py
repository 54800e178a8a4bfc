"""Synthetic long-range tasks: the adding problem (Hochreiter & Schmidhuber 1997).

Each sequence has T steps of two features: a value drawn from U(0, 1) and a marker in {0, 1}.
Exactly two steps are marked, one in the first half and one in the second half (as in Le et al.
2015 and Arjovsky et al. 2016); the target is the sum of the two marked values. Always answering
1 scores an MSE of Var(U + U') = 1/6 ≈ 0.167, so a model must beat that to have learned anything.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, RNN

__all__ = ["ADDING_BASELINE_MSE", "CELLS", "AddingModel", "adding_problem"]

CELLS: tuple[str, ...] = ("rnn", "lstm", "gru")
ADDING_BASELINE_MSE = 1.0 / 6.0  # MSE of always answering 1: Var(U(0,1) + U(0,1)) = 2/12


def adding_problem(n: int, seq_len: int, *, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Draw ``n`` adding-problem sequences of length ``seq_len``.

    Args:
        n: number of sequences.
        seq_len: time steps T per sequence, at least 2.
        generator: the random source; the same seed gives the same data.

    Returns:
        ``x`` (n, T, 2) float32: ``x[..., 0]`` the values in [0, 1), ``x[..., 1]`` the markers,
        exactly one in steps [0, T // 2) and one in steps [T // 2, T); ``y`` (n,) float32: the sum
        of the two marked values.
    """
    if n < 1:
        raise ValueError(f"adding_problem: n must be >= 1, got {n}")
    if seq_len < 2:
        raise ValueError(f"adding_problem: seq_len must be >= 2, got {seq_len}")
    half = seq_len // 2
    values = torch.rand(n, seq_len, generator=generator)  # (n, T)
    first = torch.randint(0, half, (n, 1), generator=generator)  # (n, 1)
    second = torch.randint(half, seq_len, (n, 1), generator=generator)  # (n, 1)
    where = torch.cat([first, second], dim=1)  # (n, 2)
    markers = torch.zeros(n, seq_len).scatter_(1, where, 1.0)  # (n, T)
    x = torch.stack([values, markers], dim=-1)  # (n, T, 2)
    y = values.gather(1, where).sum(dim=1)  # (n,)
    return x, y


def _recurrent_layer(cell: str, hidden_size: int) -> nn.Module:
    """One batch-first rnnkit layer over 2 input features (``cell`` already validated).

    The default backend runs torch's own kernels, so speed and results are torch's.
    """
    if cell == "rnn":
        return RNN(2, hidden_size, batch_first=True, nonlinearity="tanh")
    if cell == "lstm":
        return LSTM(2, hidden_size, batch_first=True, forget_bias=1.0)  # Jozefowicz et al. 2015
    return GRU(2, hidden_size, batch_first=True)


class AddingModel(nn.Module):
    """A recurrent layer and a ``Linear(hidden_size, 1)`` head on its last hidden state.

    Args:
        cell: ``"rnn"`` (Elman, tanh), ``"lstm"`` or ``"gru"``.
        hidden_size: H, the width of the recurrent state.

    Shape:
        - input ``x``: (B, T, 2), as made by :func:`adding_problem`
        - output: (B,), the predicted sums

    >>> model = AddingModel("gru", 16)
    >>> model(torch.zeros(3, 10, 2)).shape
    torch.Size([3])
    """

    def __init__(self, cell: str, hidden_size: int) -> None:
        super().__init__()
        if cell not in CELLS:
            valid = ", ".join(repr(c) for c in CELLS)
            raise ValueError(f"AddingModel: cell must be one of {valid}, got {cell!r}")
        if hidden_size < 1:
            raise ValueError(f"AddingModel: hidden_size must be >= 1, got {hidden_size}")
        self.cell = cell
        self.rnn = _recurrent_layer(cell, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``x`` (B, T, 2) to predictions (B,)."""
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(out[:, -1]).squeeze(-1)  # type: ignore[no-any-return]  # (B,)

    def forward_loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """Mean squared error of the predictions for ``batch = (x (B, T, 2), y (B,))``, a scalar."""
        x, y = batch
        return F.mse_loss(self(x), y)

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """Predictions (B,) for ``x`` (B, T, 2), without gradients."""
        return self(x)  # type: ignore[no-any-return]
