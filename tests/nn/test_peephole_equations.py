"""The peephole LSTM layer against its equations, evaluated here step by step in NumPy.

Independent of rnnkit.reference and rnnkit.ops: the equations of DESIGN.md, written out again
for one sequence at a time, so a sequence's own length is the only length the check knows of.

    i = σ(a_i + w_ci ⊙ c_{t-1}),  f = σ(a_f + w_cf ⊙ c_{t-1}),  g = tanh(a_g),
    c_t = f ⊙ c_{t-1} + i ⊙ g,     o = σ(a_o + w_co ⊙ c_t),      h_t = o ⊙ tanh(c_t),

with a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh split in torch's gate order i, f, g, o and
w_ch = (w_ci, w_cf, w_co).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.typing import NDArray
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit

Array = NDArray[np.float64]

N_IN, H, T = 8, 16, 6
LENGTHS = [6, 2, 4]  # unsorted
TOL = 1e-10


def sigmoid(a: Array) -> Array:
    out: Array = 1.0 / (1.0 + np.exp(-a))
    return out


def peephole_direction(
    x: Array, h: Array, c: Array, p: dict[str, Array], tag: str
) -> tuple[Array, Array, Array]:
    """One direction of one layer over one sequence x (n, in): (outputs (n, H), h_n, c_n)."""
    w_ih, w_hh = p[f"weight_ih_{tag}"], p[f"weight_hh_{tag}"]
    b = p[f"bias_ih_{tag}"] + p[f"bias_hh_{tag}"]
    w_ci, w_cf, w_co = np.split(p[f"weight_ch_{tag}"], 3)
    outs = []
    for x_t in x:
        a_i, a_f, a_g, a_o = np.split(w_ih @ x_t + w_hh @ h + b, 4)
        i = sigmoid(a_i + w_ci * c)
        f = sigmoid(a_f + w_cf * c)
        g = np.tanh(a_g)
        c = f * c + i * g
        o = sigmoid(a_o + w_co * c)  # the output gate sees the new cell state
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs), h, c


def peephole_stack(
    x: Array, h0: Array, c0: Array, p: dict[str, Array], num_layers: int, bidirectional: bool
) -> tuple[Array, Array, Array]:
    """All layers and directions over one sequence x (n, I), h0 and c0 (L·D, H)."""
    suffixes = ("", "_reverse") if bidirectional else ("",)
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for direction, suffix in enumerate(suffixes):
            k = layer * len(suffixes) + direction
            seq = x[::-1] if suffix else x
            out, h, c = peephole_direction(seq, h0[k], c0[k], p, f"l{layer}{suffix}")
            outs.append(out[::-1] if suffix else out)
            h_n.append(h)
            c_n.append(c)
        x = np.concatenate(outs, axis=1)
    return x, np.stack(h_n), np.stack(c_n)


def make_peephole(num_layers: int, bidirectional: bool, backend: str) -> rnnkit.LSTM:
    torch.manual_seed(0)
    lstm = rnnkit.LSTM(
        N_IN, H, num_layers, peephole=True, bidirectional=bidirectional, backend=backend,
        dtype=torch.float64,
    )  # fmt: skip
    with torch.no_grad():  # peepholes big enough that a missing or misplaced term shows
        for name, param in lstm.named_parameters():
            if name.startswith("weight_ch"):
                param.normal_(0.0, 1.0)
    return lstm


@pytest.mark.parametrize("with_lengths", [False, True], ids=["dense", "lengths"])
@pytest.mark.parametrize(
    ("num_layers", "bidirectional"),
    [(1, False), (1, True), (2, False), (2, True)],
    ids=["1layer", "1layer_bi", "2layer", "2layer_bi"],
)
@pytest.mark.parametrize("backend", ["auto", "fused", "loop"])
def test_peephole_lstm_matches_numpy_equations(
    backend: str, num_layers: int, bidirectional: bool, with_lengths: bool
) -> None:
    lstm = make_peephole(num_layers, bidirectional, backend)
    assert lstm.backend_used == ("fused" if backend == "auto" else backend)
    states = num_layers * (2 if bidirectional else 1)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(T, 3, N_IN, generator=gen, dtype=torch.float64)
    h0 = torch.randn(states, 3, H, generator=gen, dtype=torch.float64)
    c0 = torch.randn(states, 3, H, generator=gen, dtype=torch.float64)
    lengths = LENGTHS if with_lengths else [T] * 3
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x, (h0, c0), lengths=LENGTHS if with_lengths else None)
    p = {k: v.numpy() for k, v in lstm.state_dict().items()}
    for b, n in enumerate(lengths):
        want_out, want_h, want_c = peephole_stack(
            x[:n, b].numpy(), h0[:, b].numpy(), c0[:, b].numpy(), p, num_layers, bidirectional
        )
        np.testing.assert_allclose(out[:n, b].numpy(), want_out, rtol=TOL, atol=TOL)
        np.testing.assert_array_equal(out[n:, b].numpy(), 0.0)
        np.testing.assert_allclose(h_n[:, b].numpy(), want_h, rtol=TOL, atol=TOL)
        np.testing.assert_allclose(c_n[:, b].numpy(), want_c, rtol=TOL, atol=TOL)


def test_numpy_equations_see_the_peepholes() -> None:
    """The check above can fail: the peepholes change the result well beyond the tolerance."""
    lstm = make_peephole(1, False, "fused")
    p = {k: v.numpy() for k, v in lstm.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((T, N_IN))
    zero = np.zeros((1, H))
    out, _, _ = peephole_stack(x, zero, zero, p, 1, False)
    p["weight_ch_l0"] = np.zeros(3 * H)
    out_plain, _, _ = peephole_stack(x, zero, zero, p, 1, False)
    assert np.abs(out - out_plain).max() > 1e-2


@pytest.mark.parametrize("backend", ["fused", "loop"])
def test_zero_peepholes_give_the_plain_lstm(backend: str) -> None:
    torch.manual_seed(0)
    ref = nn.LSTM(N_IN, H, 2, bidirectional=True, dtype=torch.float64)
    plain = rnnkit.LSTM(N_IN, H, 2, bidirectional=True, dtype=torch.float64)
    plain.load_state_dict(ref.state_dict(), strict=True)
    peephole = rnnkit.LSTM(
        N_IN, H, 2, bidirectional=True, peephole=True, backend=backend, dtype=torch.float64
    )
    state = dict(ref.state_dict())
    for name, param in peephole.named_parameters():
        if name.startswith("weight_ch"):
            state[name] = torch.zeros_like(param)
    peephole.load_state_dict(state, strict=True)
    x = torch.randn(T, 3, N_IN, dtype=torch.float64, requires_grad=True)
    packed_out, (h_ref, c_ref) = ref(pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
    out_ref, _ = pad_packed_sequence(packed_out, total_length=T)
    grad_ref = torch.autograd.grad(out_ref.sum() + h_ref.sum() + c_ref.sum(), x)[0]
    for layer in (plain, peephole):
        out, (h_n, c_n) = layer(x, lengths=LENGTHS)
        torch.testing.assert_close(out, out_ref, rtol=TOL, atol=TOL)
        torch.testing.assert_close(h_n, h_ref, rtol=TOL, atol=TOL)
        torch.testing.assert_close(c_n, c_ref, rtol=TOL, atol=TOL)
        grad = torch.autograd.grad(out.sum() + h_n.sum() + c_n.sum(), x)[0]
        torch.testing.assert_close(grad, grad_ref, rtol=TOL, atol=TOL)
