"""The seed's GRU is our reset-before GRU with the r and z pre-activations negated.

The seed writes, with its own gates r' and z'::

    r' = σ(W'_ir x + b'_ir + W'_hr h + b'_hr),   z' = σ(W'_iz x + b'_iz + W'_hz h + b'_hz)
    h̃ = tanh(W_in x + b_in + W_hn ((1 − r') ⊙ h_{t-1}) + b_hn)
    h_t = (1 − z') ⊙ h_{t-1} + z' ⊙ h̃

Since 1 − σ(a) = σ(−a), negating the r and z rows of w_ih, w_hh, b_ih, b_hh gives
r = 1 − r', z = 1 − z', and ``gru_forward(..., reset_after=False)`` computes the same h_t.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rnnkit.reference import gru_forward

Array = NDArray[np.float64]


def _sigmoid(a: Array) -> Array:
    out: Array = 1.0 / (1.0 + np.exp(-a))
    return out


def seed_gru(x: Array, h0: Array, seed: dict[str, Array]) -> Array:
    """The seed's equations, literally: returns every h_t, (T, B, H)."""
    W_ir, W_iz, W_in = seed["W_ir"], seed["W_iz"], seed["W_in"]
    W_hr, W_hz, W_hn = seed["W_hr"], seed["W_hz"], seed["W_hn"]
    b_ir, b_iz, b_in = seed["b_ir"], seed["b_iz"], seed["b_in"]
    b_hr, b_hz, b_hn = seed["b_hr"], seed["b_hz"], seed["b_hn"]
    h = h0
    out = []
    for x_t in x:
        r_ = _sigmoid(x_t @ W_ir.T + b_ir + h @ W_hr.T + b_hr)  # r'
        z_ = _sigmoid(x_t @ W_iz.T + b_iz + h @ W_hz.T + b_hz)  # z'
        h_tilde = np.tanh(x_t @ W_in.T + b_in + ((1.0 - r_) * h) @ W_hn.T + b_hn)
        h = (1.0 - z_) * h + z_ * h_tilde
        out.append(h)
    return np.stack(out)


def seed_to_ours(seed: dict[str, Array]) -> dict[str, Array]:
    """Stack the seed's parameters in torch's r, z, n order, negating the r and z rows."""
    return {
        "w_ih": np.concatenate([-seed["W_ir"], -seed["W_iz"], seed["W_in"]]),
        "w_hh": np.concatenate([-seed["W_hr"], -seed["W_hz"], seed["W_hn"]]),
        "b_ih": np.concatenate([-seed["b_ir"], -seed["b_iz"], seed["b_in"]]),
        "b_hh": np.concatenate([-seed["b_hr"], -seed["b_hz"], seed["b_hn"]]),
    }


def test_seed_gru_maps_to_reset_before_gru() -> None:
    rng = np.random.default_rng(7)
    T, B, n_in, H = 7, 3, 4, 5
    seed: dict[str, Array] = {}
    for gate in "rzn":
        seed[f"W_i{gate}"] = rng.uniform(-0.8, 0.8, (H, n_in))
        seed[f"W_h{gate}"] = rng.uniform(-0.8, 0.8, (H, H))
        seed[f"b_i{gate}"] = rng.uniform(-0.8, 0.8, H)
        seed[f"b_h{gate}"] = rng.uniform(-0.8, 0.8, H)
    x = rng.uniform(-1.0, 1.0, (T, B, n_in))
    h0 = rng.uniform(-1.0, 1.0, (B, H))

    expected = seed_gru(x, h0, seed)
    (out, h_n), _ = gru_forward(x, h0, **seed_to_ours(seed), reset_after=False)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n, expected[-1], rtol=0, atol=1e-12)

    # Without the mapping the two differ: the test is not vacuous.
    unmapped = {
        "w_ih": np.concatenate([seed["W_ir"], seed["W_iz"], seed["W_in"]]),
        "w_hh": np.concatenate([seed["W_hr"], seed["W_hz"], seed["W_hn"]]),
        "b_ih": np.concatenate([seed["b_ir"], seed["b_iz"], seed["b_in"]]),
        "b_hh": np.concatenate([seed["b_hr"], seed["b_hz"], seed["b_hn"]]),
    }
    (out_unmapped, _), _ = gru_forward(x, h0, **unmapped, reset_after=False)
    assert np.abs(out_unmapped - expected).max() > 1e-2
