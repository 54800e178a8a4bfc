"""Bad arguments to the cells and layers: one line of ValueError naming class, argument, value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit

T, B, N_IN, H = 7, 3, 4, 5


def x3() -> torch.Tensor:
    return torch.randn(T, B, N_IN)


def check(call: Callable[[], Any], owner: str, argument: str, value: str) -> None:
    """``call`` raises one line of ValueError naming ``owner``, ``argument`` and ``value``."""
    with pytest.raises(ValueError, match=re.escape(value)) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{owner}: "), message
    assert argument in message, message
    assert value in message, message


def lstm(**kw: Any) -> rnnkit.LSTM:
    """An LSTM(4, 5) whose sizes and options may be overridden (``input_size=0``)."""
    return rnnkit.LSTM(kw.pop("input_size", N_IN), kw.pop("hidden_size", H), **kw)


CASES: dict[str, tuple[Callable[[], Any], str, str, str]] = {
    # input rank and size
    "layer_input_4d": (lambda: lstm()(torch.randn(2, T, B, N_IN)), "LSTM", "input", "(2, 7, 3, 4)"),
    "layer_input_1d": (lambda: rnnkit.GRU(N_IN, H)(torch.randn(N_IN)), "GRU", "input", "(4,)"),
    "layer_input_0d": (lambda: rnnkit.RNN(N_IN, H)(torch.tensor(1.0)), "RNN", "input", "()"),
    "layer_input_size": (lambda: lstm()(torch.randn(T, B, 6)), "LSTM", "input_size=4", "got 6"),
    "layer_input_size_unbatched": (
        lambda: rnnkit.RNN(N_IN, H)(torch.randn(T, 6)), "RNN", "input_size=4", "got 6"
    ),
    "packed_input_size": (
        lambda: lstm()(pack_padded_sequence(torch.randn(T, B, 6), [7, 3, 5], enforce_sorted=False)),
        "LSTM", "input_size=4", "(15, 6)",
    ),
    "no_time_steps": (lambda: lstm()(torch.randn(0, B, N_IN)), "LSTM", "input", "(0, 3, 4)"),
    "cell_input_3d": (
        lambda: rnnkit.LSTMCell(N_IN, H)(torch.randn(1, B, N_IN)), "LSTMCell", "input", "(1, 3, 4)"
    ),
    "cell_input_size": (
        lambda: rnnkit.GRUCell(N_IN, H)(torch.randn(B, 6)), "GRUCell", "input_size=4", "got 6"
    ),
    # hx
    "lstm_h0_shape": (
        lambda: lstm()(x3(), (torch.zeros(2, B, H), torch.zeros(1, B, H))),
        "LSTM", "h_0", "got (2, 3, 5)",
    ),
    "lstm_c0_shape": (
        lambda: lstm()(x3(), (torch.zeros(1, B, H), torch.zeros(1, B, 4))),
        "LSTM", "c_0", "got (1, 3, 4)",
    ),
    "gru_h0_shape_bidirectional": (
        lambda: rnnkit.GRU(N_IN, H, bidirectional=True)(x3(), torch.zeros(1, B, H)),
        "GRU", "h_0", "(2, 3, 5), got (1, 3, 5)",
    ),
    "rnn_h0_batch": (
        lambda: rnnkit.RNN(N_IN, H)(x3(), torch.zeros(1, 2, H)), "RNN", "h_0", "got (1, 2, 5)"
    ),
    "unbatched_h0_shape": (
        lambda: rnnkit.GRU(N_IN, H)(torch.randn(T, N_IN), torch.zeros(1, 1, H)),
        "GRU", "h_0", "(1, 5), got (1, 1, 5)",
    ),
    "lstm_hx_not_tuple": (
        lambda: lstm()(x3(), torch.zeros(1, B, H)), "LSTM", "(h_0, c_0)", "got Tensor"
    ),
    "lstm_hx_three_parts": (
        lambda: lstm()(x3(), (torch.zeros(1, B, H),) * 3), "LSTM", "hx", "got tuple"
    ),
    "gru_hx_tuple": (
        lambda: rnnkit.GRU(N_IN, H)(x3(), (torch.zeros(1, B, H),) * 2), "GRU", "hx", "got tuple"
    ),
    "lstm_cell_hx_not_tuple": (
        lambda: rnnkit.LSTMCell(N_IN, H)(torch.randn(B, N_IN), torch.zeros(B, H)),
        "LSTMCell", "(h, c)", "got Tensor",
    ),
    "cell_c_shape": (
        lambda: rnnkit.LSTMCell(N_IN, H)(
            torch.randn(B, N_IN), (torch.zeros(B, H), torch.zeros(B, 2))
        ),
        "LSTMCell", "hx c", "got (3, 2)",
    ),
    # dropout, backend, nonlinearity, sizes
    "dropout_above_one": (lambda: lstm(dropout=1.5), "LSTM", "dropout", "got 1.5"),
    "dropout_negative": (lambda: rnnkit.GRU(N_IN, H, dropout=-0.1), "GRU", "dropout", "got -0.1"),
    "unknown_backend": (lambda: lstm(backend="cudnn"), "LSTM", "backend", "got 'cudnn'"),
    "unknown_backend_setter": (
        lambda: setattr(rnnkit.RNN(N_IN, H), "backend", "triton"), "RNN", "backend", "'triton'"
    ),
    "native_peephole": (
        lambda: lstm(peephole=True, backend="native"), "LSTM", "backend='native'", "peephole=True"
    ),
    "native_gru_reset_before": (
        lambda: rnnkit.GRU(N_IN, H, reset_after=False, backend="native"),
        "GRU", "backend='native'", "reset_after=False",
    ),
    "unknown_nonlinearity": (
        lambda: rnnkit.RNN(N_IN, H, nonlinearity="sigmoid"), "RNN", "nonlinearity", "'sigmoid'"
    ),
    "cell_unknown_nonlinearity": (
        lambda: rnnkit.RNNCell(N_IN, H, nonlinearity="gelu"), "RNNCell", "nonlinearity", "'gelu'"
    ),
    "forget_bias_nan": (
        lambda: lstm(forget_bias=float("nan")), "LSTM", "forget_bias", "got nan"
    ),
    "input_size_zero": (lambda: lstm(input_size=0), "LSTM", "input_size", "got 0"),
    "hidden_size_negative": (
        lambda: rnnkit.GRU(N_IN, -1), "GRU", "hidden_size", "got -1"
    ),
    "num_layers_zero": (lambda: rnnkit.RNN(N_IN, H, 0), "RNN", "num_layers", "got 0"),
    "input_size_float": (lambda: rnnkit.RNN(4.0, H), "RNN", "input_size", "got 4.0"),
    "cell_hidden_size_zero": (lambda: rnnkit.LSTMCell(N_IN, 0), "LSTMCell", "hidden_size", "got 0"),
    "cell_input_size_negative": (
        lambda: rnnkit.RNNCell(-3, H), "RNNCell", "input_size", "got -3"
    ),
    # lengths
    "lengths_too_few": (lambda: lstm()(x3(), lengths=[7, 3]), "LSTM", "lengths", "(2,)"),
    "lengths_2d": (lambda: lstm()(x3(), lengths=[[7, 3, 5]]), "LSTM", "lengths", "(1, 3)"),
    "lengths_zero": (
        lambda: rnnkit.GRU(N_IN, H)(x3(), lengths=[7, 0, 5]),
        "GRU", "lengths", "got 0 at position 1",
    ),
    "lengths_too_long": (
        lambda: rnnkit.RNN(N_IN, H)(x3(), lengths=torch.tensor([7, 3, 8])),
        "RNN", "lengths must be in [1, 7]", "got 8 at position 2",
    ),
    "lengths_with_packed": (
        lambda: lstm()(pack_padded_sequence(x3(), [7, 3, 5], enforce_sorted=False), lengths=[7]),
        "LSTM", "lengths", "PackedSequence",
    ),
    "lengths_unbatched": (
        lambda: lstm()(torch.randn(T, N_IN), lengths=[7]), "LSTM", "lengths", "(3-D)"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_error_is_one_clear_line(case: str) -> None:
    call, owner, argument, value = CASES[case]
    check(call, owner, argument, value)


@pytest.mark.parametrize("value", [True, 2.5, "8"], ids=["bool", "float", "str"])
def test_sizes_must_be_integers(value: Any) -> None:
    check(lambda: lstm(input_size=value), "LSTM", "input_size", f"got {value!r}")
