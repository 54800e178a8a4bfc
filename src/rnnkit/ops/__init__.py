"""rnnkit.ops — the functional core.

Per cell family: a whole-sequence forward and a hand-written backward over packed rows
(``*_forward`` / ``*_backward``), an ``autograd.Function`` that only calls them (``*_fused``),
one differentiable step (``*_cell``) and the plain per-step autograd loop (``*_loop``).
The fused ops' per-step element-wise work runs in Triton kernels on CUDA when triton imports
(:mod:`rnnkit.ops.triton`), in C kernels on the CPU when they build (:mod:`rnnkit.ops.cpu`), in
torch ops otherwise (chosen by ``step_impl``, :mod:`rnnkit.ops._step_impl`); each step's matrix
product runs in torch, or in oneDNN's packed matmul on the CPU where that is faster
(:mod:`rnnkit.ops._step_matmul`).
"""

from rnnkit.ops._packed import reverse_index, step_offsets
from rnnkit.ops.gru import gru_backward, gru_cell, gru_forward, gru_fused, gru_loop
from rnnkit.ops.lstm import lstm_backward, lstm_cell, lstm_forward, lstm_fused, lstm_loop
from rnnkit.ops.rnn import rnn_backward, rnn_cell, rnn_forward, rnn_fused, rnn_loop

__all__ = [
    "gru_backward",
    "gru_cell",
    "gru_forward",
    "gru_fused",
    "gru_loop",
    "lstm_backward",
    "lstm_cell",
    "lstm_forward",
    "lstm_fused",
    "lstm_loop",
    "reverse_index",
    "rnn_backward",
    "rnn_cell",
    "rnn_forward",
    "rnn_fused",
    "rnn_loop",
    "step_offsets",
]
