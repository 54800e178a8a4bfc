"""rnnkit: recurrent neural networks for NLP, from their equations to trained models.

>>> import rnnkit
>>> lstm = rnnkit.LSTM(100, 256, num_layers=2, batch_first=True, peephole=True)
"""

from rnnkit.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__version__ = "0.1.0"

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell", "__version__"]
