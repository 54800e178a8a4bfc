"""GRU, NumPy float64 reference: forward and hand-written BPTT.

Gate order r, z, n (torch's). With ``x`` (T, B, I), ``h0`` (B, H), ``w_ih`` (3H, I),
``w_hh`` (3H, H), ``b_ih`` and ``b_hh`` (3H,), each split by rows into the r, z, n blocks, one
time step is::

    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    reset_after=True  (torch/cuDNN):       n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    reset_after=False (Cho et al. 2014):   n = tanh(W_in x_t + b_in + W_hn (r ⊙ h_{t-1}) + b_hn)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

Mapping to the seed's form. The seed writes a reset-before GRU with its own gates r', z'::

    r' = σ(a'_r),  z' = σ(a'_z)        (a' = W' x_t + b'_i + U' h_{t-1} + b'_h, per gate)
    h̃ = tanh(W_n x_t + U_n ((1 − r') ⊙ h_{t-1}) + b)
    h_t = (1 − z') ⊙ h_{t-1} + z' ⊙ h̃

Since 1 − σ(a) = σ(−a), the seed's gates are ours with z = 1 − z' = σ(−a'_z) and
r = 1 − r' = σ(−a'_r): h̃ is our n with ``reset_after=False`` and h_t = z ⊙ h_{t-1} + (1 − z) ⊙ n.
So a seed GRU is ``gru_forward(..., reset_after=False)`` after negating the seed's update- and
reset-gate pre-activations, i.e. the r and z rows (the first 2H) of ``w_ih``, ``w_hh``, ``b_ih``
and ``b_hh``; the candidate's rows (n) are taken as they are. ``tests/reference/
test_gru_seed_mapping.py`` checks this.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from rnnkit.reference._math import Array, as_float64, check_ndim, check_shape, sigmoid

__all__ = ["GRUCache", "gru_backward", "gru_forward"]


class GRUCache(TypedDict):
    """What :func:`gru_backward` needs from :func:`gru_forward`."""

    x: Array  # (T, B, I)
    h: Array  # (T + 1, B, H): h[0] = h0, h[t + 1] = h_t
    r: Array  # (T, B, H) gate activations
    z: Array  # (T, B, H)
    n: Array  # (T, B, H)
    hn: Array  # (T, B, H): W_hn h_{t-1} + b_hn if reset_after, else r ⊙ h_{t-1}
    w_ih: Array  # (3H, I)
    w_hh: Array  # (3H, H)
    reset_after: bool


def gru_forward(
    x: Array,
    h0: Array,
    w_ih: Array,
    w_hh: Array,
    b_ih: Array,
    b_hh: Array,
    *,
    reset_after: bool = True,
) -> tuple[tuple[Array, Array], GRUCache]:
    """Run the GRU over a sequence.

    Args:
        x: inputs, (T, B, I).
        h0: initial hidden state, (B, H).
        w_ih: (3H, I). w_hh: (3H, H). b_ih, b_hh: (3H,); gates r, z, n.
        reset_after: apply the reset gate after the recurrent product (torch/cuDNN) or before
            it (Cho et al. 2014).

    Returns:
        ``((out, h_n), cache)`` with ``out`` (T, B, H) and ``h_n`` (B, H).

    Raises:
        ValueError: on a shape mismatch.
    """
    fn = "gru_forward"
    x, h0 = as_float64(x), as_float64(h0)
    w_ih, w_hh, b_ih, b_hh = (as_float64(a) for a in (w_ih, w_hh, b_ih, b_hh))
    check_ndim(fn, "x", x, 3, "(T, B, I)")
    check_ndim(fn, "w_hh", w_hh, 2, "(3H, H)")
    T, B, n_in = x.shape
    H = w_hh.shape[1]
    check_shape(fn, "w_hh", w_hh, (3 * H, H), "(3H, H)")
    check_shape(fn, "w_ih", w_ih, (3 * H, n_in), "(3H, I)")
    check_shape(fn, "b_ih", b_ih, (3 * H,), "(3H,)")
    check_shape(fn, "b_hh", b_hh, (3 * H,), "(3H,)")
    check_shape(fn, "h0", h0, (B, H), "(B, H)")
    w_hrz, w_hn = w_hh[: 2 * H], w_hh[2 * H :]
    b_hrz, b_hn = b_hh[: 2 * H], b_hh[2 * H :]

    h = np.empty((T + 1, B, H))
    r, z, n, hn = (np.empty((T, B, H)) for _ in range(4))
    h[0] = h0
    for t in range(T):
        gi = x[t] @ w_ih.T + b_ih  # (B, 3H)
        grz = gi[:, : 2 * H] + h[t] @ w_hrz.T + b_hrz
        r[t] = sigmoid(grz[:, :H])
        z[t] = sigmoid(grz[:, H:])
        if reset_after:
            hn[t] = h[t] @ w_hn.T + b_hn
            n[t] = np.tanh(gi[:, 2 * H :] + r[t] * hn[t])
        else:
            hn[t] = r[t] * h[t]
            n[t] = np.tanh(gi[:, 2 * H :] + hn[t] @ w_hn.T + b_hn)
        h[t + 1] = (1.0 - z[t]) * n[t] + z[t] * h[t]

    cache = GRUCache(x=x, h=h, r=r, z=z, n=n, hn=hn, w_ih=w_ih, w_hh=w_hh, reset_after=reset_after)
    return (h[1:].copy(), h[T].copy()), cache


def gru_backward(grad_out: Array, grad_h_n: Array, cache: GRUCache) -> dict[str, Array]:
    """Backpropagate through time.

    Args:
        grad_out: ∂L/∂out, (T, B, H).
        grad_h_n: ∂L/∂h_n, (B, H).
        cache: from :func:`gru_forward`.

    Returns:
        ∂L/∂· for ``"x"`` (T, B, I), ``"h0"`` (B, H), ``"w_ih"`` (3H, I), ``"w_hh"`` (3H, H),
        ``"b_ih"`` and ``"b_hh"`` (3H,).
    """
    fn = "gru_backward"
    x, h, r, z, n, hn = cache["x"], cache["h"], cache["r"], cache["z"], cache["n"], cache["hn"]
    w_ih, w_hh, reset_after = cache["w_ih"], cache["w_hh"], cache["reset_after"]
    T, B, _ = x.shape
    H = w_hh.shape[1]
    grad_out, grad_h_n = as_float64(grad_out), as_float64(grad_h_n)
    check_shape(fn, "grad_out", grad_out, (T, B, H), "(T, B, H)")
    check_shape(fn, "grad_h_n", grad_h_n, (B, H), "(B, H)")
    w_hrz, w_hn = w_hh[: 2 * H], w_hh[2 * H :]

    dx = np.zeros_like(x)
    dw_ih = np.zeros_like(w_ih)
    dw_hh = np.zeros_like(w_hh)
    db_ih = np.zeros(3 * H)
    db_hh = np.zeros(3 * H)
    dh = grad_h_n.copy()  # ∂L/∂h_t from step t + 1 (and from h_n)
    for t in range(T - 1, -1, -1):
        h_prev = h[t]
        dh = dh + grad_out[t]
        # h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
        dn = dh * (1.0 - z[t])
        dz = dh * (h_prev - n[t])
        dh_prev = dh * z[t]
        da_n = dn * (1.0 - n[t] ** 2)  # ∂L/∂(pre-activation of n)
        da_z = dz * z[t] * (1.0 - z[t])
        if reset_after:
            # n = tanh(gi_n + r ⊙ hn), hn = W_hn h_{t-1} + b_hn
            dr = da_n * hn[t]
            dhn = da_n * r[t]
            dw_hh[2 * H :] += dhn.T @ h_prev
            db_hh[2 * H :] += dhn.sum(axis=0)
            dh_prev = dh_prev + dhn @ w_hn
        else:
            # n = tanh(gi_n + W_hn hn + b_hn), hn = r ⊙ h_{t-1}
            dhn = da_n @ w_hn
            dr = dhn * h_prev
            dw_hh[2 * H :] += da_n.T @ hn[t]
            db_hh[2 * H :] += da_n.sum(axis=0)
            dh_prev = dh_prev + dhn * r[t]
        da_r = dr * r[t] * (1.0 - r[t])
        da_rz = np.concatenate([da_r, da_z], axis=1)  # (B, 2H)
        dw_hh[: 2 * H] += da_rz.T @ h_prev
        db_hh[: 2 * H] += da_rz.sum(axis=0)
        dh_prev = dh_prev + da_rz @ w_hrz
        dgi = np.concatenate([da_rz, da_n], axis=1)  # (B, 3H)
        dw_ih += dgi.T @ x[t]
        db_ih += dgi.sum(axis=0)
        dx[t] = dgi @ w_ih
        dh = dh_prev
    return {"x": dx, "h0": dh, "w_ih": dw_ih, "w_hh": dw_hh, "b_ih": db_ih, "b_hh": db_hh}
