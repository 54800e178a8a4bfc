"""LSTM (plain and with peepholes), NumPy float64 reference: forward and hand-written BPTT.

Gate order i, f, g, o (torch's). With ``x`` (T, B, I), ``h0`` and ``c0`` (B, H), ``w_ih`` (4H, I),
``w_hh`` (4H, H), ``b_ih`` and ``b_hh`` (4H,), one time step is::

    a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,     split into a_i, a_f, a_g, a_o (H each)
    i = σ(a_i + w_ci ⊙ c_{t-1})
    f = σ(a_f + w_cf ⊙ c_{t-1})
    g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o = σ(a_o + w_co ⊙ c_t)          # the output gate peeks at the new cell state
    r_t = o ⊙ tanh(c_t)
    h_t = W_hr r_t                   # with a projection; else h_t = r_t

The peephole weights ``w_ch`` (3H,) are diagonal (vectors, Gers & Schmidhuber), in the order
w_ci, w_cf, w_co; with ``w_ch=None`` they are absent (zero) and this is the plain LSTM.

With a projection (Sak et al. 2014, torch's ``proj_size``), ``w_hr`` (P, H) maps r_t to the
P-dimensional h_t, the output and the recurrent input: ``w_hh`` is then (4H, P) and ``h0`` (B, P),
while the cell state stays H-dimensional. With ``w_hr=None`` (the default) h_t = r_t and P = H.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from rnnkit.reference._math import Array, as_float64, check_ndim, check_shape, sigmoid

__all__ = ["LSTMCache", "lstm_backward", "lstm_forward"]


class LSTMCache(TypedDict):
    """What :func:`lstm_backward` needs from :func:`lstm_forward`."""

    x: Array  # (T, B, I)
    h: Array  # (T + 1, B, P): h[0] = h0, h[t + 1] = h_t (P = H without a projection)
    c: Array  # (T + 1, B, H): c[0] = c0, c[t + 1] = c_t
    i: Array  # (T, B, H) gate activations
    f: Array  # (T, B, H)
    g: Array  # (T, B, H)
    o: Array  # (T, B, H)
    tanh_c: Array  # (T, B, H): tanh(c_t)
    r: Array  # (T, B, H): o ⊙ tanh(c_t), before the projection
    w_ih: Array  # (4H, I)
    w_hh: Array  # (4H, P)
    w_ch: Array | None  # (3H,) or None
    w_hr: Array | None  # (P, H) or None


def lstm_forward(
    x: Array,
    h0: Array,
    c0: Array,
    w_ih: Array,
    w_hh: Array,
    b_ih: Array,
    b_hh: Array,
    w_ch: Array | None = None,
    w_hr: Array | None = None,
) -> tuple[tuple[Array, tuple[Array, Array]], LSTMCache]:
    """Run the LSTM over a sequence.

    Args:
        x: inputs, (T, B, I).
        h0, c0: initial hidden and cell states, (B, P) and (B, H) (P = H without projection).
        w_ih: (4H, I). w_hh: (4H, P). b_ih, b_hh: (4H,); gates i, f, g, o.
        w_ch: peephole weights (3H,) in the order i, f, o, or None for the plain LSTM.
        w_hr: projection (P, H), or None for none.

    Returns:
        ``((out, (h_n, c_n)), cache)`` with ``out`` (T, B, P), ``h_n`` (B, P), ``c_n`` (B, H).

    Raises:
        ValueError: on a shape mismatch.
    """
    fn = "lstm_forward"
    x, h0, c0 = as_float64(x), as_float64(h0), as_float64(c0)
    w_ih, w_hh, b_ih, b_hh = (as_float64(a) for a in (w_ih, w_hh, b_ih, b_hh))
    check_ndim(fn, "x", x, 3, "(T, B, I)")
    T, B, n_in = x.shape
    if w_hr is None:
        check_ndim(fn, "w_hh", w_hh, 2, "(4H, H)")
        H = P = w_hh.shape[1]
        check_shape(fn, "w_hh", w_hh, (4 * H, H), "(4H, H)")
    else:
        w_hr = as_float64(w_hr)
        check_ndim(fn, "w_hr", w_hr, 2, "(P, H)")
        P, H = w_hr.shape
        check_shape(fn, "w_hh", w_hh, (4 * H, P), "(4H, P)")
    check_shape(fn, "w_ih", w_ih, (4 * H, n_in), "(4H, I)")
    check_shape(fn, "b_ih", b_ih, (4 * H,), "(4H,)")
    check_shape(fn, "b_hh", b_hh, (4 * H,), "(4H,)")
    check_shape(fn, "h0", h0, (B, P), "(B, H)" if w_hr is None else "(B, P)")
    check_shape(fn, "c0", c0, (B, H), "(B, H)")
    if w_ch is None:
        w_ci = w_cf = w_co = np.zeros(H)
    else:
        w_ch = as_float64(w_ch)
        check_shape(fn, "w_ch", w_ch, (3 * H,), "(3H,)")
        w_ci, w_cf, w_co = w_ch[:H], w_ch[H : 2 * H], w_ch[2 * H :]

    h = np.empty((T + 1, B, P))
    c = np.empty((T + 1, B, H))
    i, f, g, o, tanh_c, r = (np.empty((T, B, H)) for _ in range(6))
    h[0], c[0] = h0, c0
    for t in range(T):
        a = x[t] @ w_ih.T + b_ih + h[t] @ w_hh.T + b_hh
        a_i, a_f, a_g, a_o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        i[t] = sigmoid(a_i + w_ci * c[t])
        f[t] = sigmoid(a_f + w_cf * c[t])
        g[t] = np.tanh(a_g)
        c[t + 1] = f[t] * c[t] + i[t] * g[t]
        o[t] = sigmoid(a_o + w_co * c[t + 1])
        tanh_c[t] = np.tanh(c[t + 1])
        r[t] = o[t] * tanh_c[t]
        h[t + 1] = r[t] if w_hr is None else r[t] @ w_hr.T

    cache = LSTMCache(
        x=x, h=h, c=c, i=i, f=f, g=g, o=o, tanh_c=tanh_c, r=r, w_ih=w_ih, w_hh=w_hh,
        w_ch=w_ch, w_hr=w_hr,
    )  # fmt: skip
    return (h[1:].copy(), (h[T].copy(), c[T].copy())), cache


def lstm_backward(
    grad_out: Array, grad_final_state: tuple[Array, Array], cache: LSTMCache
) -> dict[str, Array]:
    """Backpropagate through time.

    Args:
        grad_out: ∂L/∂out, (T, B, P) (P = H without a projection).
        grad_final_state: ``(∂L/∂h_n, ∂L/∂c_n)``, (B, P) and (B, H).
        cache: from :func:`lstm_forward`.

    Returns:
        ∂L/∂· for ``"x"`` (T, B, I), ``"h0"`` (B, P), ``"c0"`` (B, H), ``"w_ih"`` (4H, I),
        ``"w_hh"`` (4H, P), ``"b_ih"`` and ``"b_hh"`` (4H,), ``"w_ch"`` (3H,) when the forward
        had peepholes, and ``"w_hr"`` (P, H) when it had a projection.
    """
    fn = "lstm_backward"
    x, h, c = cache["x"], cache["h"], cache["c"]
    i, f, g, o, tanh_c = cache["i"], cache["f"], cache["g"], cache["o"], cache["tanh_c"]
    w_ih, w_hh, w_ch, w_hr = cache["w_ih"], cache["w_hh"], cache["w_ch"], cache["w_hr"]
    r = cache["r"]
    T, B, _ = x.shape
    H, P = c.shape[2], h.shape[2]
    h_label = "H" if w_hr is None else "P"
    grad_h_n, grad_c_n = (as_float64(gs) for gs in grad_final_state)
    grad_out = as_float64(grad_out)
    check_shape(fn, "grad_out", grad_out, (T, B, P), f"(T, B, {h_label})")
    check_shape(fn, "grad_h_n", grad_h_n, (B, P), f"(B, {h_label})")
    check_shape(fn, "grad_c_n", grad_c_n, (B, H), "(B, H)")
    if w_ch is None:
        w_ci = w_cf = w_co = np.zeros(H)
    else:
        w_ci, w_cf, w_co = w_ch[:H], w_ch[H : 2 * H], w_ch[2 * H :]

    dx = np.zeros_like(x)
    dw_ih = np.zeros_like(w_ih)
    dw_hh = np.zeros_like(w_hh)
    dw_hr = np.zeros((P, H))
    db = np.zeros(4 * H)
    dw_ci, dw_cf, dw_co = np.zeros(H), np.zeros(H), np.zeros(H)
    dh = grad_h_n.copy()  # ∂L/∂h_t from step t + 1 (and from h_n)
    dc = grad_c_n.copy()  # ∂L/∂c_t from step t + 1 (and from c_n)
    for t in range(T - 1, -1, -1):
        c_prev, c_t = c[t], c[t + 1]
        dh = dh + grad_out[t]
        # h_t = W_hr r_t (or h_t = r_t)
        if w_hr is None:
            dr = dh
        else:
            dw_hr += dh.T @ r[t]
            dr = dh @ w_hr
        # r_t = o ⊙ tanh(c_t)
        do = dr * tanh_c[t]
        dc_t = dc + dr * o[t] * (1.0 - tanh_c[t] ** 2)
        # o = σ(a_o + w_co ⊙ c_t)
        da_o = do * o[t] * (1.0 - o[t])
        dc_t = dc_t + da_o * w_co
        dw_co += (da_o * c_t).sum(axis=0)
        # c_t = f ⊙ c_{t-1} + i ⊙ g
        da_i = dc_t * g[t] * i[t] * (1.0 - i[t])
        da_f = dc_t * c_prev * f[t] * (1.0 - f[t])
        da_g = dc_t * i[t] * (1.0 - g[t] ** 2)
        dw_ci += (da_i * c_prev).sum(axis=0)
        dw_cf += (da_f * c_prev).sum(axis=0)
        dc = dc_t * f[t] + da_i * w_ci + da_f * w_cf
        # a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)
        dw_ih += da.T @ x[t]
        dw_hh += da.T @ h[t]
        db += da.sum(axis=0)
        dx[t] = da @ w_ih
        dh = da @ w_hh

    grads = {
        "x": dx,
        "h0": dh,
        "c0": dc,
        "w_ih": dw_ih,
        "w_hh": dw_hh,
        "b_ih": db,
        "b_hh": db.copy(),
    }
    if w_ch is not None:
        grads["w_ch"] = np.concatenate([dw_ci, dw_cf, dw_co])
    if w_hr is not None:
        grads["w_hr"] = dw_hr
    return grads
