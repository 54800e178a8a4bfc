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


def test_lstm_proj_size_is_torchs_next_positional_argument() -> None:
    """LSTM(I, H, layers, bias, batch_first, dropout, bidirectional, proj_size) as torch reads it,
    and proj_size ≥ hidden_size refused as torch refuses it."""
    args = (3, 5, 2, False, True, 0.0, True, 4)
    layer, reference = LSTM(*args), nn.LSTM(*args)
    assert layer.proj_size == reference.proj_size == 4
    for name in ("num_layers", "bias", "batch_first", "bidirectional"):
        assert getattr(layer, name) == getattr(reference, name), name
    layer.load_state_dict(reference.state_dict())  # weight_hr_l{k}[_reverse] included, strictly
    x = torch.randn(2, 6, 3)  # batch_first
    (out, (h, c)), (out_ref, (h_ref, c_ref)) = layer(x), reference(x)
    assert out.shape == out_ref.shape == (2, 6, 8) and h.shape == (4, 2, 4) and c.shape == (4, 2, 5)
    for got, want in ((out, out_ref), (h, h_ref), (c, c_ref)):
        assert torch.allclose(got, want, atol=1e-6)
    for proj_size in (5, 6):
        with pytest.raises(ValueError, match=r"smaller than hidden_size"):  # torch's words
            nn.LSTM(3, 5, 1, True, False, 0.0, False, proj_size)
        with pytest.raises(
            ValueError, match=rf"smaller than hidden_size=5 .*proj_size={proj_size}"
        ):
            LSTM(3, 5, 1, True, False, 0.0, False, proj_size)


@pytest.mark.parametrize("layer", [RNN(3, 4), LSTM(3, 4), GRU(3, 4)])
def test_dtype_mismatches_name_the_argument_and_both_dtypes(layer: nn.Module) -> None:
    with pytest.raises(ValueError, match=r"input is torch\.float64 but the layer's weights are "):
        layer(torch.randn(2, 1, 3, dtype=torch.float64))
    h = torch.zeros(1, 1, 4, dtype=torch.float64)
    hx = (h, torch.zeros(1, 1, 4)) if isinstance(layer, LSTM) else h
    with pytest.raises(ValueError, match=r"hx h_0 is torch\.float64 but the layer's weights are"):
        layer(torch.randn(2, 1, 3), hx)


@pytest.mark.parametrize("backend", ["native", "fused", "loop"])
def test_a_c_0_of_another_dtype_is_named_on_every_backend(backend: str) -> None:
    layer = LSTM(3, 4, backend=backend)
    hx = (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4, dtype=torch.float64))
    with pytest.raises(
        ValueError,
        match=r"^LSTM: hx c_0 is torch\.float64 but the layer's weights are torch\.float32; "
        r"convert one \(layer\.to\(torch\.float64\) or hx c_0\.to\(torch\.float32\)\)$",
    ):
        layer(torch.randn(2, 1, 3), hx)
