"""rnnkit.reference.gru: forward by hand, BPTT against central differences, errors, torch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from rnnkit.reference import gru_backward, gru_forward

Array = NDArray[np.float64]
MakeInputs = Callable[..., dict[str, Array]]
GradCheck = Callable[..., None]

KEYS = {"x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"}
RESET_AFTER = pytest.mark.parametrize(
    "reset_after", [True, False], ids=["reset_after", "reset_before"]
)


@RESET_AFTER
def test_backward_matches_central_differences(
    reset_after: bool, rng: np.random.Generator, inputs_maker: MakeInputs, grad_check: GradCheck
) -> None:
    inputs = inputs_maker(rng, 3)
    (out, h_n), cache = gru_forward(**inputs, reset_after=reset_after)
    g_out = rng.standard_normal(out.shape)
    g_h = rng.standard_normal(h_n.shape)

    def loss() -> float:
        (o, hn), _ = gru_forward(**inputs, reset_after=reset_after)
        return float(np.sum(g_out * o) + np.sum(g_h * hn))

    grads = gru_backward(g_out, g_h, cache)
    grad_check(loss, inputs, grads)


@RESET_AFTER
def test_forward_by_hand(reset_after: bool) -> None:
    """T = 1, zero weights and biases: r = z = σ(0) = 1/2 and n = tanh(0) = 0, so h_1 = h_0 / 2."""
    B, n_in, H = 2, 3, 4
    h0 = np.array([[1.0, -2.0, 0.5, 0.0], [3.0, 0.0, -1.0, 2.0]])
    z = np.zeros
    w_ih, w_hh, b = z((3 * H, n_in)), z((3 * H, H)), z(3 * H)
    (out, h_n), _ = gru_forward(
        np.ones((1, B, n_in)), h0, w_ih, w_hh, b, b, reset_after=reset_after
    )
    np.testing.assert_allclose(h_n, h0 / 2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(out[0], h_n)


@RESET_AFTER
def test_backward_keys_and_shapes(
    reset_after: bool, rng: np.random.Generator, inputs_maker: MakeInputs
) -> None:
    inputs = inputs_maker(rng, 3)
    (out, h_n), cache = gru_forward(**inputs, reset_after=reset_after)
    assert out.shape == (7, 3, 5) and h_n.shape == (3, 5)
    grads = gru_backward(np.ones_like(out), np.ones_like(h_n), cache)
    assert set(grads) == KEYS
    for name in KEYS:
        assert grads[name].shape == inputs[name].shape, name


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("x", (3, 4), r"gru_forward: x must be 3-D \(T, B, I\), got shape \(3, 4\)"),
        ("h0", (3, 15), r"gru_forward: h0 must have shape \(B, H\) = \(3, 5\), got \(3, 15\)"),
        (
            "w_ih",
            (15, 5),
            r"gru_forward: w_ih must have shape \(3H, I\) = \(15, 4\), got \(15, 5\)",
        ),
        ("w_hh", (15,), r"gru_forward: w_hh must be 2-D \(3H, H\), got shape \(15,\)"),
        (
            "w_hh",
            (20, 5),
            r"gru_forward: w_hh must have shape \(3H, H\) = \(15, 5\), got \(20, 5\)",
        ),
    ],
)
def test_forward_rejects_bad_shapes(
    name: str,
    shape: tuple[int, ...],
    match: str,
    rng: np.random.Generator,
    inputs_maker: MakeInputs,
) -> None:
    inputs = inputs_maker(rng, 3)
    inputs[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=match):
        gru_forward(**inputs, reset_after=True)


def test_matches_torch(rng: np.random.Generator, inputs_maker: MakeInputs) -> None:
    """reset_after=True is torch.nn.GRU (gate order r, z, n): same outputs and gradients."""
    torch = pytest.importorskip("torch")
    inputs = inputs_maker(rng, 3)
    (out, h_n), cache = gru_forward(**inputs, reset_after=True)
    g_out, g_h = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    grads = gru_backward(g_out, g_h, cache)

    p = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in inputs.items()}
    names = {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0", "b_ih": "bias_ih_l0"}
    names["b_hh"] = "bias_hh_l0"
    layer = torch.nn.GRU(4, 5).double()
    t_out, t_h = torch.func.functional_call(
        layer, {theirs: p[ours] for ours, theirs in names.items()}, (p["x"], p["h0"][None])
    )
    loss = torch.sum(t_out * torch.from_numpy(g_out)) + torch.sum(t_h[0] * torch.from_numpy(g_h))
    loss.backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    for name, g in grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
