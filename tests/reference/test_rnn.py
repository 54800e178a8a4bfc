"""rnnkit.reference.rnn: forward by hand, BPTT against central differences, errors, torch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from rnnkit.reference import rnn_backward, rnn_forward

Array = NDArray[np.float64]
MakeInputs = Callable[..., dict[str, Array]]
GradCheck = Callable[..., None]

KEYS = {"x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"}


def _relu_safe_inputs(rng: np.random.Generator, make: MakeInputs) -> dict[str, Array]:
    """Inputs whose pre-activations all stay clear of relu's kink (|a| > 1e-3): redrawn."""
    for _ in range(100):
        inputs = make(rng, 1)
        _, cache = rnn_forward(**inputs, nonlinearity="relu")
        if np.abs(cache["a"]).min() > 1e-3 and (cache["a"] > 0).mean() > 0.3:
            return inputs
    raise AssertionError("could not draw relu inputs away from the kink")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_backward_matches_central_differences(
    nonlinearity: str, rng: np.random.Generator, inputs_maker: MakeInputs, grad_check: GradCheck
) -> None:
    if nonlinearity == "relu":
        inputs = _relu_safe_inputs(rng, inputs_maker)
    else:
        inputs = inputs_maker(rng, 1)
    (out, h_n), cache = rnn_forward(**inputs, nonlinearity=nonlinearity)
    g_out = rng.standard_normal(out.shape)
    g_h = rng.standard_normal(h_n.shape)

    def loss() -> float:
        (o, hn), _ = rnn_forward(**inputs, nonlinearity=nonlinearity)
        return float(np.sum(g_out * o) + np.sum(g_h * hn))

    grads = rnn_backward(g_out, g_h, cache)
    grad_check(loss, inputs, grads)


def test_forward_by_hand() -> None:
    """T = 1, zero weights: h_1 = tanh(b_ih + b_hh), whatever x and h0."""
    B, n_in, H = 2, 3, 4
    b_ih = np.array([0.1, -0.2, 0.3, 0.0])
    b_hh = np.array([0.4, 0.2, -1.3, 0.0])
    (out, h_n), _ = rnn_forward(
        np.ones((1, B, n_in)), np.ones((B, H)), np.zeros((H, n_in)), np.zeros((H, H)), b_ih, b_hh
    )
    expected = np.tanh(np.array([0.5, 0.0, -1.0, 0.0]))
    np.testing.assert_allclose(out, np.broadcast_to(expected, (1, B, H)), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(h_n, out[0])
    (out, _), _ = rnn_forward(
        np.ones((1, B, n_in)),
        np.ones((B, H)),
        np.zeros((H, n_in)),
        np.zeros((H, H)),
        b_ih,
        b_hh,
        nonlinearity="relu",
    )
    np.testing.assert_allclose(out[0, 0], [0.5, 0.0, 0.0, 0.0], rtol=0, atol=1e-15)


def test_forward_two_steps_by_hand() -> None:
    """H = I = B = 1: h_1 = tanh(w x_1 + u h_0), h_2 = tanh(w x_2 + u h_1)."""
    w, u = 0.7, -0.4
    x = np.array([1.0, -2.0]).reshape(2, 1, 1)
    (out, h_n), _ = rnn_forward(
        x, np.full((1, 1), 0.5), np.full((1, 1), w), np.full((1, 1), u), np.zeros(1), np.zeros(1)
    )
    h1 = np.tanh(w * 1.0 + u * 0.5)
    h2 = np.tanh(w * -2.0 + u * h1)
    np.testing.assert_allclose(out.ravel(), [h1, h2], rtol=1e-15)
    assert h_n.shape == (1, 1)


def test_backward_keys_and_shapes(rng: np.random.Generator, inputs_maker: MakeInputs) -> None:
    inputs = inputs_maker(rng, 1)
    (out, h_n), cache = rnn_forward(**inputs, nonlinearity="tanh")
    assert out.shape == (7, 3, 5) and h_n.shape == (3, 5)
    np.testing.assert_array_equal(h_n, out[-1])
    grads = rnn_backward(np.ones_like(out), np.ones_like(h_n), cache)
    assert set(grads) == KEYS
    for name in KEYS:
        assert grads[name].shape == inputs[name].shape, name
        assert grads[name].dtype == np.float64, name


def test_empty_sequence(rng: np.random.Generator, inputs_maker: MakeInputs) -> None:
    inputs = inputs_maker(rng, 1, T=0)
    (out, h_n), cache = rnn_forward(**inputs, nonlinearity="tanh")
    assert out.shape == (0, 3, 5)
    np.testing.assert_array_equal(h_n, inputs["h0"])
    g_h = rng.standard_normal(h_n.shape)
    grads = rnn_backward(np.zeros_like(out), g_h, cache)
    np.testing.assert_array_equal(grads["h0"], g_h)
    assert not grads["w_hh"].any()


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("x", (7, 3), r"rnn_forward: x must be 3-D \(T, B, I\), got shape \(7, 3\)"),
        ("h0", (3, 4), r"rnn_forward: h0 must have shape \(B, H\) = \(3, 5\), got \(3, 4\)"),
        ("h0", (1, 3, 5), r"rnn_forward: h0 must have shape .*, got \(1, 3, 5\)"),
        ("w_ih", (5, 3), r"rnn_forward: w_ih must have shape \(H, I\) = \(5, 4\), got \(5, 3\)"),
        ("w_hh", (5, 4), r"rnn_forward: w_hh must have shape \(H, H\) = \(4, 4\), got \(5, 4\)"),
        ("b_hh", (6,), r"rnn_forward: b_hh must have shape \(H,\) = \(5,\), got \(6,\)"),
    ],
)
def test_forward_rejects_bad_shapes(
    name: str,
    shape: tuple[int, ...],
    match: str,
    rng: np.random.Generator,
    inputs_maker: MakeInputs,
) -> None:
    inputs = inputs_maker(rng, 1)
    inputs[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=match):
        rnn_forward(**inputs, nonlinearity="tanh")


def test_forward_rejects_unknown_nonlinearity(
    rng: np.random.Generator, inputs_maker: MakeInputs
) -> None:
    with pytest.raises(ValueError, match=r"rnn_forward: nonlinearity must be .*, got 'sigmoid'"):
        rnn_forward(**inputs_maker(rng, 1), nonlinearity="sigmoid")


def test_backward_rejects_bad_grad_shape(
    rng: np.random.Generator, inputs_maker: MakeInputs
) -> None:
    (out, _), cache = rnn_forward(**inputs_maker(rng, 1), nonlinearity="tanh")
    with pytest.raises(ValueError, match=r"rnn_backward: grad_h_n must have shape"):
        rnn_backward(np.zeros_like(out), np.zeros((3, 4)), cache)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_matches_torch(
    nonlinearity: str, rng: np.random.Generator, inputs_maker: MakeInputs
) -> None:
    """Same parameters in torch.nn.RNN: same outputs and the same gradients (torch's layout)."""
    torch = pytest.importorskip("torch")
    if nonlinearity == "relu":
        inputs = _relu_safe_inputs(rng, inputs_maker)
    else:
        inputs = inputs_maker(rng, 1)
    (out, h_n), cache = rnn_forward(**inputs, nonlinearity=nonlinearity)
    g_out, g_h = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    grads = rnn_backward(g_out, g_h, cache)

    p = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in inputs.items()}
    names = {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0", "b_ih": "bias_ih_l0"}
    names["b_hh"] = "bias_hh_l0"
    layer = torch.nn.RNN(4, 5, nonlinearity=nonlinearity).double()
    t_out, t_h = torch.func.functional_call(
        layer, {theirs: p[ours] for ours, theirs in names.items()}, (p["x"], p["h0"][None])
    )
    loss = torch.sum(t_out * torch.from_numpy(g_out)) + torch.sum(t_h[0] * torch.from_numpy(g_h))
    loss.backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    for name, g in grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
