"""Elman RNN, NumPy float64 reference: forward and hand-written BPTT.

Equations (time-major, one step per loop iteration, torch's parameter names and shapes)::

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    h_t = f(a_t),          f = tanh or relu

with ``x`` (T, B, I), ``h0`` (B, H), ``w_ih`` (H, I), ``w_hh`` (H, H), ``b_ih`` and ``b_hh`` (H,).
The output is every h_t, ``out`` (T, B, H), and the last one, ``h_n`` (B, H).
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from rnnkit.reference._math import Array, as_float64, check_ndim, check_shape

__all__ = ["RNNCache", "rnn_backward", "rnn_forward"]

_NONLINEARITIES = ("tanh", "relu")


class RNNCache(TypedDict):
    """What :func:`rnn_backward` needs from :func:`rnn_forward`."""

    x: Array  # (T, B, I)
    h: Array  # (T + 1, B, H): h[0] = h0, h[t + 1] = h_t
    a: Array  # (T, B, H): pre-activations a_t
    w_ih: Array  # (H, I)
    w_hh: Array  # (H, H)
    nonlinearity: str


def rnn_forward(
    x: Array,
    h0: Array,
    w_ih: Array,
    w_hh: Array,
    b_ih: Array,
    b_hh: Array,
    *,
    nonlinearity: str = "tanh",
) -> tuple[tuple[Array, Array], RNNCache]:
    """Run the RNN over a sequence.

    Args:
        x: inputs, (T, B, I).
        h0: initial hidden state, (B, H).
        w_ih: (H, I). w_hh: (H, H). b_ih, b_hh: (H,).
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        ``((out, h_n), cache)`` with ``out`` (T, B, H) and ``h_n`` (B, H).

    Raises:
        ValueError: on a shape mismatch or an unknown nonlinearity.
    """
    fn = "rnn_forward"
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"{fn}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    x, h0 = as_float64(x), as_float64(h0)
    w_ih, w_hh, b_ih, b_hh = (as_float64(a) for a in (w_ih, w_hh, b_ih, b_hh))
    check_ndim(fn, "x", x, 3, "(T, B, I)")
    check_ndim(fn, "w_hh", w_hh, 2, "(H, H)")
    T, B, n_in = x.shape
    H = w_hh.shape[1]
    check_shape(fn, "w_hh", w_hh, (H, H), "(H, H)")
    check_shape(fn, "w_ih", w_ih, (H, n_in), "(H, I)")
    check_shape(fn, "b_ih", b_ih, (H,), "(H,)")
    check_shape(fn, "b_hh", b_hh, (H,), "(H,)")
    check_shape(fn, "h0", h0, (B, H), "(B, H)")

    h = np.empty((T + 1, B, H))
    a = np.empty((T, B, H))
    h[0] = h0
    for t in range(T):
        a[t] = x[t] @ w_ih.T + b_ih + h[t] @ w_hh.T + b_hh
        h[t + 1] = np.tanh(a[t]) if nonlinearity == "tanh" else np.maximum(a[t], 0.0)

    out = h[1:].copy()
    cache = RNNCache(x=x, h=h, a=a, w_ih=w_ih, w_hh=w_hh, nonlinearity=nonlinearity)
    return (out, h[T].copy()), cache


def rnn_backward(grad_out: Array, grad_h_n: Array, cache: RNNCache) -> dict[str, Array]:
    """Backpropagate through time.

    Args:
        grad_out: ∂L/∂out, (T, B, H).
        grad_h_n: ∂L/∂h_n, (B, H).
        cache: from :func:`rnn_forward`.

    Returns:
        ∂L/∂· for ``"x"`` (T, B, I), ``"h0"`` (B, H), ``"w_ih"`` (H, I), ``"w_hh"`` (H, H),
        ``"b_ih"`` and ``"b_hh"`` (H,).
    """
    fn = "rnn_backward"
    x, h, a = cache["x"], cache["h"], cache["a"]
    w_ih, w_hh = cache["w_ih"], cache["w_hh"]
    T, B, _ = x.shape
    H = w_hh.shape[0]
    grad_out, grad_h_n = as_float64(grad_out), as_float64(grad_h_n)
    check_shape(fn, "grad_out", grad_out, (T, B, H), "(T, B, H)")
    check_shape(fn, "grad_h_n", grad_h_n, (B, H), "(B, H)")

    dx = np.zeros_like(x)
    dw_ih = np.zeros_like(w_ih)
    dw_hh = np.zeros_like(w_hh)
    db = np.zeros(H)
    dh = grad_h_n.copy()  # ∂L/∂h_t flowing back from step t + 1
    for t in range(T - 1, -1, -1):
        dh = dh + grad_out[t]
        # f'(a_t): 1 − tanh(a_t)² = 1 − h_t² for tanh, 1[a_t > 0] for relu
        df = 1.0 - h[t + 1] ** 2 if cache["nonlinearity"] == "tanh" else (a[t] > 0.0) * 1.0
        da = dh * df
        dw_ih += da.T @ x[t]
        dw_hh += da.T @ h[t]
        db += da.sum(axis=0)
        dx[t] = da @ w_ih
        dh = da @ w_hh
    return {"x": dx, "h0": dh, "w_ih": dw_ih, "w_hh": dw_hh, "b_ih": db, "b_hh": db.copy()}
