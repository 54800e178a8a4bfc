"""rnnkit.nn — ``nn.Module`` shells over :mod:`rnnkit.ops`: cells, multi-layer layers, and the
linear-chain CRF output layer."""

from rnnkit.nn._dispatch import Dispatch
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.crf import CRF
from rnnkit.nn.layers import GRU, LSTM, RNN

__all__ = ["CRF", "GRU", "LSTM", "RNN", "Dispatch", "GRUCell", "LSTMCell", "RNNCell"]
