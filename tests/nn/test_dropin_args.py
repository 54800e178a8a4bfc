"""Drop-in details: torch's positional argument order, and dtype mismatches named."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.nn import GRU, LSTM, RNN


@pytest.mark.parametrize(
    ("ours", "theirs", "args"),
    [
        (RNN, nn.RNN, (3, 5, 2, "relu", False, True, 0.0, True)),
        (LSTM, nn.LSTM, (3, 5, 2, False, True, 0.0, True)),
        (GRU, nn.GRU, (3, 5, 2, False, True, 0.0, True)),
    ],
)
def test_torch_positional_order(ours: type, theirs: type, args: tuple[object, ...]) -> None:
    layer, reference = ours(*args), theirs(*args)
    for name in ("num_layers", "bias", "batch_first", "bidirectional"):
        assert getattr(layer, name) == getattr(reference, name), name
    if ours is RNN:
        assert layer.nonlinearity == reference.nonlinearity == "relu"
    layer.load_state_dict(reference.state_dict())  # same names and shapes, strictly
    x = torch.randn(2, 4, 3)  # batch_first
    assert torch.allclose(layer(x)[0], reference(x)[0], atol=1e-6)


def test_lstm_projection_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"proj_size=4 .* not supported yet"):
        LSTM(3, 5, 1, True, False, 0.0, False, 4)


@pytest.mark.parametrize("layer", [RNN(3, 4), LSTM(3, 4), GRU(3, 4)])
def test_dtype_mismatches_name_the_argument_and_both_dtypes(layer: nn.Module) -> None:
    with pytest.raises(ValueError, match=r"input is torch\.float64 but the layer's weights are "):
        layer(torch.randn(2, 1, 3, dtype=torch.float64))
    h = torch.zeros(1, 1, 4, dtype=torch.float64)
    hx = (h, torch.zeros(1, 1, 4)) if isinstance(layer, LSTM) else h
    with pytest.raises(ValueError, match=r"hx h_0 is torch\.float64 but the layer's weights are"):
        layer(torch.randn(2, 1, 3), hx)
