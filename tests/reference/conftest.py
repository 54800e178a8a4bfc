"""Shared fixtures for the reference tests: a seeded generator, random inputs, a gradient check.

The helpers are handed out as fixtures (tests/ is not a package, so test modules do not import
each other).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pytest
from numpy.typing import NDArray

Array = NDArray[np.float64]
MakeInputs = Callable[..., dict[str, Array]]
GradCheck = Callable[[Callable[[], float], Mapping[str, Array], Mapping[str, Array]], None]

# Odd, distinct sizes so that a transposed or mis-sliced array cannot pass by accident.
T, B, N_IN, H = 7, 3, 4, 5  # time steps, batch, input size, hidden size

# With these sizes the analytic and numerical gradients agree to about 2e-9 (round-off of the
# central difference, ~1e-16 · |L| / EPS); a wrong term in a backward is off by 1e-3 or more.
EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-7


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator per test (tests stay independent of their order)."""
    return np.random.default_rng(20240917)


def make_inputs(
    rng: np.random.Generator,
    gates: int,
    *,
    T: int = T,
    B: int = B,
    n_in: int = N_IN,
    H: int = H,
    cell: bool = False,
    peephole: bool = False,
    proj: int = 0,
    scale: float = 0.5,
) -> dict[str, Array]:
    """Random inputs for a ``*_forward``: x, h0 [, c0], w_ih, w_hh, b_ih, b_hh [, w_ch] [, w_hr].

    ``proj`` = P > 0 (LSTM) adds the projection w_hr (P, H); h0 is then (B, P) and w_hh
    (G·H, P). Weights and biases are uniform in [−scale, scale], x, h0 and c0 uniform in [−1, 1].
    """

    def u(*shape: int, s: float = 1.0) -> Array:
        return rng.uniform(-s, s, size=shape)

    P = proj or H
    inputs = {"x": u(T, B, n_in), "h0": u(B, P)}
    if cell:
        inputs["c0"] = u(B, H)
    inputs |= {
        "w_ih": u(gates * H, n_in, s=scale),
        "w_hh": u(gates * H, P, s=scale),
        "b_ih": u(gates * H, s=scale),
        "b_hh": u(gates * H, s=scale),
    }
    if peephole:
        inputs["w_ch"] = u(3 * H, s=scale)
    if proj:
        inputs["w_hr"] = u(P, H, s=scale)
    return inputs


@pytest.fixture
def inputs_maker() -> MakeInputs:
    """:func:`make_inputs`, as a fixture."""
    return make_inputs


def numerical_gradient(loss: Callable[[], float], a: Array, eps: float = EPS) -> Array:
    """Central differences of ``loss()`` with respect to every element of ``a`` (perturbed in place,
    then restored)."""
    grad = np.zeros_like(a)
    flat, gflat = a.reshape(-1), grad.reshape(-1)  # views
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        up = loss()
        flat[k] = saved - eps
        down = loss()
        flat[k] = saved
        gflat[k] = (up - down) / (2.0 * eps)
    return grad


def check_gradients(
    loss: Callable[[], float], inputs: Mapping[str, Array], grads: Mapping[str, Array]
) -> None:
    """Assert ``grads`` has exactly the keys of ``inputs`` and matches central differences of
    ``loss`` (which must read its arrays from ``inputs``) element by element."""
    assert set(grads) == set(inputs)
    for name, a in inputs.items():
        assert grads[name].shape == a.shape, name
        numeric = numerical_gradient(loss, a)
        np.testing.assert_allclose(grads[name], numeric, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.fixture
def grad_check() -> GradCheck:
    """:func:`check_gradients`, as a fixture."""
    return check_gradients
