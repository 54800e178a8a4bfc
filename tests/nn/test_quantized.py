"""int8 twins of the LSTM and GRU layers: close to the float layer, clear about what they lack."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.nn.quantized import Int8Recurrent, int8_linear


@pytest.mark.parametrize("make", [rnnkit.LSTM, rnnkit.GRU], ids=["lstm", "gru"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_int8_layer_stays_close_to_the_float_layer(make: type, batch_first: bool) -> None:
    torch.manual_seed(0)
    layer = make(12, 9, num_layers=2, batch_first=batch_first, bidirectional=True).eval()
    x = torch.randn(5, 7, 12) if batch_first else torch.randn(7, 5, 12)
    lengths = torch.tensor([7, 3, 5, 1, 6])
    expected, expected_state = layer(x, lengths=lengths)
    got, state = Int8Recurrent(layer)(x, lengths=lengths)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() < 0.05  # int8 weights and activations: ~1% of range
    final = (state[0] if isinstance(state, tuple) else state, expected_state)
    assert (
        final[0] - (final[1][0] if isinstance(final[1], tuple) else final[1])
    ).abs().max() < 0.05
    steps = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T) real positions
    padding = ~steps if batch_first else ~steps.T
    assert got[padding].abs().sum() == 0
    dense, _ = Int8Recurrent(layer)(x)
    assert dense.shape == expected.shape


@pytest.mark.parametrize(
    ("layer", "what"),
    [
        (rnnkit.LSTM(4, 3, peephole=True), "peephole=True"),
        (rnnkit.LSTM(4, 3, proj_size=2), "proj_size=2"),
        (rnnkit.GRU(4, 3, reset_after=False), "reset_after=False"),
        (rnnkit.RNN(4, 3), "the Elman RNN"),
    ],
)
def test_configurations_without_int8_kernels_are_one_clear_error(
    layer: torch.nn.Module, what: str
) -> None:
    with pytest.raises(ValueError, match=f"quantize: .* with {what} has no int8 kernel"):
        Int8Recurrent(layer)


def test_int8_linear_is_a_close_copy() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(16, 4)
    x = torch.randn(8, 16)
    assert (int8_linear(linear)(x) - linear(x)).abs().max() < 0.05
    assert isinstance(linear, torch.nn.Linear)  # the float layer is left as it was
