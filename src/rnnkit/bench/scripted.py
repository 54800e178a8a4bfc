"""TorchScript loops over the time steps: the ``script-loop`` benchmark variant.

Each family has a small scriptable step (the same equations as :mod:`rnnkit.ops`' ``*_cell``)
and a loop that calls it per step; :func:`scripted_loop` compiles the loop with
``torch.jit.script`` once per family. Every loop takes x (T, B, I) and returns out (T, B, H).
"""

# No ``from __future__ import annotations`` here: TorchScript reads the annotations as objects.

import functools
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def lstm_step(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    w_ch: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step, peepholes ``w_ch`` (3H,) optional: x (B, I), h, c (B, H) -> (h', c')."""
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # (B, 4H)
    a_i, a_f, a_g, a_o = gates.chunk(4, 1)
    if w_ch is None:
        c_new = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
    else:
        w_ci, w_cf, w_co = w_ch.chunk(3)
        c_new = torch.sigmoid(a_f + w_cf * c) * c + torch.sigmoid(a_i + w_ci * c) * torch.tanh(a_g)
        a_o = a_o + w_co * c_new
    return torch.sigmoid(a_o) * torch.tanh(c_new), c_new


def lstm_loop(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    w_ch: Tensor | None,
) -> Tensor:
    """:func:`lstm_step` over x (T, B, I) from h, c (B, H): out (T, B, H)."""
    outs: list[Tensor] = []
    for x_t in x.unbind(0):
        h, c = lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh, w_ch)
        outs.append(h)
    return torch.stack(outs)


def gru_step(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    reset_after: bool,
) -> Tensor:
    """One GRU step, reset gate after or before the recurrent product: x (B, I), h (B, H) -> h'."""
    H = h.size(1)
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, 1)  # (B, H) each
    h_r, h_z = F.linear(h, w_hh[: 2 * H], b_hh[: 2 * H]).chunk(2, 1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    if reset_after:
        n = torch.tanh(x_n + r * F.linear(h, w_hh[2 * H :], b_hh[2 * H :]))
    else:
        n = torch.tanh(x_n + F.linear(r * h, w_hh[2 * H :], b_hh[2 * H :]))
    return (1 - z) * n + z * h


def gru_loop(
    x: Tensor,
    h: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    reset_after: bool,
) -> Tensor:
    """:func:`gru_step` over x (T, B, I) from h (B, H): out (T, B, H)."""
    outs: list[Tensor] = []
    for x_t in x.unbind(0):
        h = gru_step(x_t, h, w_ih, w_hh, b_ih, b_hh, reset_after)
        outs.append(h)
    return torch.stack(outs)


def rnn_step(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, relu: bool
) -> Tensor:
    """One Elman step, tanh (or relu): x (B, I), h (B, H) -> h'."""
    a = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return torch.relu(a) if relu else torch.tanh(a)


def rnn_loop(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, relu: bool
) -> Tensor:
    """:func:`rnn_step` over x (T, B, I) from h (B, H): out (T, B, H)."""
    outs: list[Tensor] = []
    for x_t in x.unbind(0):
        h = rnn_step(x_t, h, w_ih, w_hh, b_ih, b_hh, relu)
        outs.append(h)
    return torch.stack(outs)


_LOOPS = {"lstm": lstm_loop, "gru": gru_loop, "rnn": rnn_loop}


@functools.cache
def scripted_loop(family: str) -> Callable[..., Tensor]:
    """The family's loop (``"lstm"``, ``"gru"`` or ``"rnn"``) compiled by ``torch.jit.script``."""
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript; it is what we time
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted: Any = torch.jit.script(_LOOPS[family])
    return scripted  # type: ignore[no-any-return]  # a ScriptFunction, called like the loop
