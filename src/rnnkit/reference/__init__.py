"""rnnkit.reference: the three RNN families in NumPy float64, as their equations read.

Each family has a forward, ``*_forward(...) -> (outputs, cache)``, that writes its equations
literally, one time step per loop iteration, and a backward, ``*_backward(grads, cache) -> dict``,
that is backpropagation through time written by hand (a loop from T − 1 down to 0), returning the
gradient of the input, of the initial state(s) and of every parameter. Arrays are time-major
(T, B, ·); parameter names, shapes and gate orders are torch's. The tests check every gradient
against central differences; the fast ``ops`` implementations are checked against this package.

- :mod:`~rnnkit.reference.rnn`: Elman RNN, tanh or relu.
- :mod:`~rnnkit.reference.lstm`: LSTM, gates i, f, g, o, optional diagonal peepholes.
- :mod:`~rnnkit.reference.gru`: GRU, gates r, z, n, reset gate applied after or before
  the recurrent product.
"""

from rnnkit.reference.gru import GRUCache, gru_backward, gru_forward
from rnnkit.reference.lstm import LSTMCache, lstm_backward, lstm_forward
from rnnkit.reference.rnn import RNNCache, rnn_backward, rnn_forward

__all__ = [
    "GRUCache",
    "LSTMCache",
    "RNNCache",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rnn_backward",
    "rnn_forward",
]
