"""rnnkit.nn — ``nn.Module`` shells over :mod:`rnnkit.ops`: cells, multi-layer layers, the
linear-chain CRF output layer, attention over a padded source, and the AWD-LSTM regularisers."""

from rnnkit.nn._dispatch import Dispatch
from rnnkit.nn.attention import ATTENTION_KINDS, Attention
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.crf import CRF
from rnnkit.nn.layers import GRU, LSTM, RNN
from rnnkit.nn.regularization import (
    LockedDropout,
    activation_penalty,
    embedding_dropout,
    temporal_activation_penalty,
)

__all__ = [
    "ATTENTION_KINDS",
    "CRF",
    "GRU",
    "LSTM",
    "RNN",
    "Attention",
    "Dispatch",
    "GRUCell",
    "LSTMCell",
    "LockedDropout",
    "RNNCell",
    "activation_penalty",
    "embedding_dropout",
    "temporal_activation_penalty",
]
