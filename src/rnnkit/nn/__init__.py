"""rnnkit.nn — ``nn.Module`` shells over :mod:`rnnkit.ops`: cells and multi-layer layers."""

from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.layers import GRU, LSTM, RNN

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]
