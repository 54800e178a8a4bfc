"""rnnkit: recurrent neural networks for NLP, from their equations to trained models.

>>> import rnnkit
>>> lstm = rnnkit.LSTM(100, 256, num_layers=2, batch_first=True, peephole=True)
"""

import os

# Large CPU tensors in transparent huge pages: fewer page faults when recurrent layers allocate
# their per-sequence buffers; 1.2–1.5× faster training steps on long texts on a 2-core CPU
# (benchmarks/results/cpu-packed-2026-11-25.md). Read by torch's allocator when torch starts, so it
# only takes effect when rnnkit is imported first (as by the `rnnkit` command); a value the user
# set wins.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

from rnnkit.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__version__ = "0.1.0"

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell", "__version__"]
