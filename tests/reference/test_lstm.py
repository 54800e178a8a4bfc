"""rnnkit.reference.lstm: forward by hand, BPTT against central differences, errors, torch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from rnnkit.reference import lstm_backward, lstm_forward

Array = NDArray[np.float64]
MakeInputs = Callable[..., dict[str, Array]]
GradCheck = Callable[..., None]

KEYS = {"x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"}


def _sigmoid(a: Array) -> Array:
    out: Array = 1.0 / (1.0 + np.exp(-a))
    return out


@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
def test_backward_matches_central_differences(
    peephole: bool, rng: np.random.Generator, inputs_maker: MakeInputs, grad_check: GradCheck
) -> None:
    inputs = inputs_maker(rng, 4, cell=True, peephole=peephole)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    g_out = rng.standard_normal(out.shape)
    g_h = rng.standard_normal(h_n.shape)
    g_c = rng.standard_normal(c_n.shape)

    def loss() -> float:
        (o, (hn, cn)), _ = lstm_forward(**inputs)
        return float(np.sum(g_out * o) + np.sum(g_h * hn) + np.sum(g_c * cn))

    grads = lstm_backward(g_out, (g_h, g_c), cache)
    grad_check(loss, inputs, grads)


def test_forward_by_hand() -> None:
    """T = 1, zero weights and biases: i = f = o = σ(0) = 1/2 and g = 0, so c_1 = c_0 / 2 and
    h_1 = tanh(c_0 / 2) / 2."""
    B, n_in, H = 2, 3, 4
    c0 = np.array([[1.0, -2.0, 0.5, 0.0], [3.0, 0.0, -1.0, 2.0]])
    z = np.zeros
    (out, (h_n, c_n)), _ = lstm_forward(
        np.ones((1, B, n_in)),
        np.ones((B, H)),
        c0,
        z((4 * H, n_in)),
        z((4 * H, H)),
        z(4 * H),
        z(4 * H),
    )
    np.testing.assert_allclose(c_n, c0 / 2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(h_n, np.tanh(c0 / 2) / 2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(out[0], h_n)


def test_peephole_forward_by_hand() -> None:
    """H = I = B = 1, T = 1, zero matrices, peepholes (w_ci, w_cf, w_co) = (1, 2, 3)."""
    c0 = 0.8
    one = np.ones((1, 1))
    (_, (h_n, c_n)), _ = lstm_forward(
        np.ones((1, 1, 1)),
        one,
        np.full((1, 1), c0),
        np.zeros((4, 1)),
        np.zeros((4, 1)),
        np.zeros(4),
        np.array([0.0, 0.0, 0.3, 0.0]),  # b_hh: a_g = 0.3
        w_ch=np.array([1.0, 2.0, 3.0]),
    )
    i = _sigmoid(np.array(1.0 * c0))
    f = _sigmoid(np.array(2.0 * c0))
    c1 = f * c0 + i * np.tanh(0.3)
    o = _sigmoid(3.0 * c1)  # the output gate sees the new cell state
    np.testing.assert_allclose(c_n.item(), c1, rtol=1e-15)
    np.testing.assert_allclose(h_n.item(), o * np.tanh(c1), rtol=1e-15)


def test_zero_peepholes_equal_plain(rng: np.random.Generator, inputs_maker: MakeInputs) -> None:
    inputs = inputs_maker(rng, 4, cell=True)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    (out_p, (_, c_p)), cache_p = lstm_forward(**inputs, w_ch=np.zeros(15))
    np.testing.assert_array_equal(out, out_p)
    np.testing.assert_array_equal(c_n, c_p)
    g = (np.ones_like(h_n), np.ones_like(c_n))
    grads = lstm_backward(np.ones_like(out), g, cache)
    grads_p = lstm_backward(np.ones_like(out), g, cache_p)
    for name in KEYS:
        np.testing.assert_allclose(grads[name], grads_p[name], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
def test_backward_keys_and_shapes(
    peephole: bool, rng: np.random.Generator, inputs_maker: MakeInputs
) -> None:
    inputs = inputs_maker(rng, 4, cell=True, peephole=peephole)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    assert out.shape == (7, 3, 5) and h_n.shape == c_n.shape == (3, 5)
    grads = lstm_backward(np.ones_like(out), (np.ones_like(h_n), np.ones_like(c_n)), cache)
    expected = KEYS | {"w_ch"} if peephole else KEYS
    assert set(grads) == expected
    for name in expected:
        assert grads[name].shape == inputs[name].shape, name


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("x", (7, 3, 4, 1), r"lstm_forward: x must be 3-D \(T, B, I\), got shape \(7, 3, 4, 1\)"),
        ("h0", (5,), r"lstm_forward: h0 must have shape \(B, H\) = \(3, 5\), got \(5,\)"),
        ("c0", (2, 5), r"lstm_forward: c0 must have shape \(B, H\) = \(3, 5\), got \(2, 5\)"),
        (
            "w_ih",
            (15, 4),
            r"lstm_forward: w_ih must have shape \(4H, I\) = \(20, 4\), got \(15, 4\)",
        ),
        ("b_ih", (20, 1), r"lstm_forward: b_ih must have shape \(4H,\) = \(20,\), got \(20, 1\)"),
        ("w_ch", (20,), r"lstm_forward: w_ch must have shape \(3H,\) = \(15,\), got \(20,\)"),
        ("w_ch", (3, 5), r"lstm_forward: w_ch must have shape \(3H,\) = \(15,\), got \(3, 5\)"),
    ],
)
def test_forward_rejects_bad_shapes(
    name: str,
    shape: tuple[int, ...],
    match: str,
    rng: np.random.Generator,
    inputs_maker: MakeInputs,
) -> None:
    inputs = inputs_maker(rng, 4, cell=True, peephole=True)
    inputs[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=match):
        lstm_forward(**inputs)


@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
def test_matches_torch(peephole: bool, rng: np.random.Generator, inputs_maker: MakeInputs) -> None:
    """Plain: same outputs and gradients as torch.nn.LSTM (gate order i, f, g, o). Peephole: same
    as a torch autograd loop over the docstring's equations."""
    torch = pytest.importorskip("torch")
    inputs = inputs_maker(rng, 4, cell=True, peephole=peephole)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    g_out, g_h, g_c = (rng.standard_normal(a.shape) for a in (out, h_n, c_n))
    grads = lstm_backward(g_out, (g_h, g_c), cache)

    p = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in inputs.items()}
    if peephole:
        h, c, outs = p["h0"], p["c0"], []
        w_ci, w_cf, w_co = p["w_ch"].split(5)
        for t in range(7):
            a = p["x"][t] @ p["w_ih"].T + p["b_ih"] + h @ p["w_hh"].T + p["b_hh"]
            a_i, a_f, a_g, a_o = a.split(5, dim=1)
            i, f = torch.sigmoid(a_i + w_ci * c), torch.sigmoid(a_f + w_cf * c)
            c = f * c + i * torch.tanh(a_g)
            h = torch.sigmoid(a_o + w_co * c) * torch.tanh(c)
            outs.append(h)
        t_out, t_h, t_c = torch.stack(outs), h, c
    else:
        layer = torch.nn.LSTM(4, 5).double()
        names = {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0", "b_ih": "bias_ih_l0"}
        names["b_hh"] = "bias_hh_l0"
        params = {theirs: p[ours] for ours, theirs in names.items()}
        t_out, (t_h, t_c) = torch.func.functional_call(
            layer, params, (p["x"], (p["h0"][None], p["c0"][None]))
        )
        t_h, t_c = t_h[0], t_c[0]
    loss = (
        torch.sum(t_out * torch.from_numpy(g_out))
        + torch.sum(t_h * torch.from_numpy(g_h))
        + torch.sum(t_c * torch.from_numpy(g_c))
    )
    loss.backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n, t_c.detach().numpy(), rtol=1e-12, atol=1e-14)
    for name, g in grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


# --- with a projection (Sak et al. 2014, torch's proj_size): h_t = W_hr (o ⊙ tanh(c_t)) ---------

PROJ = {"T": 5, "B": 3, "n_in": 4, "H": 5, "proj": 3}  # odd sizes, P < H


@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
def test_projection_backward_matches_central_differences(
    peephole: bool, rng: np.random.Generator, inputs_maker: MakeInputs, grad_check: GradCheck
) -> None:
    """Every input, w_hr included, with random upstream gradients on out, h_n and c_n."""
    inputs = inputs_maker(rng, 4, cell=True, peephole=peephole, **PROJ)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    assert out.shape == (5, 3, 3) and h_n.shape == (3, 3) and c_n.shape == (3, 5)
    g_out, g_h, g_c = (rng.standard_normal(a.shape) for a in (out, h_n, c_n))

    def loss() -> float:
        (o, (hn, cn)), _ = lstm_forward(**inputs)
        return float(np.sum(g_out * o) + np.sum(g_h * hn) + np.sum(g_c * cn))

    grads = lstm_backward(g_out, (g_h, g_c), cache)
    expected = KEYS | {"w_hr"} | ({"w_ch"} if peephole else set())
    assert set(grads) == expected
    grad_check(loss, inputs, grads)


def test_projection_forward_by_hand() -> None:
    """T = 1, zero weights and biases: i = f = o = 1/2 and g = 0, so c_1 = c_0 / 2 and
    h_1 = W_hr (tanh(c_0 / 2) / 2), with a P = 2 projection of H = 3 units."""
    c0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    w_hr = np.array([[1.0, 0.0, 2.0], [0.0, -1.0, 0.5]])
    z = np.zeros
    (out, (h_n, c_n)), _ = lstm_forward(
        np.ones((1, 2, 4)), np.ones((2, 2)), c0, z((12, 4)), z((12, 2)), z(12), z(12), w_hr=w_hr
    )
    r = np.tanh(c0 / 2) / 2
    np.testing.assert_allclose(c_n, c0 / 2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(h_n, r @ w_hr.T, rtol=0, atol=1e-15)
    assert h_n.shape == (2, 2) and c_n.shape == (2, 3)
    np.testing.assert_array_equal(out[0], h_n)


def test_identity_projection_equals_plain(
    rng: np.random.Generator, inputs_maker: MakeInputs
) -> None:
    """W_hr = I (P = H): the same function as no projection, gradient of W_hr aside."""
    inputs = inputs_maker(rng, 4, cell=True, peephole=True)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    (out_p, (h_p, c_p)), cache_p = lstm_forward(**inputs, w_hr=np.eye(5))
    np.testing.assert_allclose(h_p, h_n, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(out_p, out, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(c_p, c_n, rtol=1e-14, atol=1e-15)
    g = (rng.standard_normal(h_n.shape), rng.standard_normal(c_n.shape))
    g_out = rng.standard_normal(out.shape)
    grads, grads_p = lstm_backward(g_out, g, cache), lstm_backward(g_out, g, cache_p)
    assert set(grads_p) == set(grads) | {"w_hr"}
    for name in grads:
        np.testing.assert_allclose(grads_p[name], grads[name], rtol=1e-12, atol=1e-14)
    # dL/dW_hr = Σ_t dh_tᵀ r_t with r_t = h_t here: nonzero
    assert np.abs(grads_p["w_hr"]).max() > 0


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("w_hr", (3,), r"lstm_forward: w_hr must be 2-D \(P, H\), got shape \(3,\)"),
        (
            "w_hh",
            (20, 5),
            r"lstm_forward: w_hh must have shape \(4H, P\) = \(20, 3\), got \(20, 5\)",
        ),
        ("h0", (3, 5), r"lstm_forward: h0 must have shape \(B, P\) = \(3, 3\), got \(3, 5\)"),
        ("c0", (3, 3), r"lstm_forward: c0 must have shape \(B, H\) = \(3, 5\), got \(3, 3\)"),
    ],
)
def test_projection_rejects_bad_shapes(
    name: str,
    shape: tuple[int, ...],
    match: str,
    rng: np.random.Generator,
    inputs_maker: MakeInputs,
) -> None:
    inputs = inputs_maker(rng, 4, cell=True, **PROJ)
    inputs[name] = np.zeros(shape)
    with pytest.raises(ValueError, match=match):
        lstm_forward(**inputs)


def test_projection_matches_torch(rng: np.random.Generator, inputs_maker: MakeInputs) -> None:
    """Same outputs and gradients as torch.nn.LSTM(proj_size=P)."""
    torch = pytest.importorskip("torch")
    inputs = inputs_maker(rng, 4, cell=True, **PROJ)
    (out, (h_n, c_n)), cache = lstm_forward(**inputs)
    g_out, g_h, g_c = (rng.standard_normal(a.shape) for a in (out, h_n, c_n))
    grads = lstm_backward(g_out, (g_h, g_c), cache)

    p = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in inputs.items()}
    layer = torch.nn.LSTM(4, 5, proj_size=3).double()
    names = {"w_ih": "weight_ih_l0", "w_hh": "weight_hh_l0", "b_ih": "bias_ih_l0"}
    names |= {"b_hh": "bias_hh_l0", "w_hr": "weight_hr_l0"}
    params = {theirs: p[ours] for ours, theirs in names.items()}
    t_out, (t_h, t_c) = torch.func.functional_call(
        layer, params, (p["x"], (p["h0"][None], p["c0"][None]))
    )
    loss = (
        torch.sum(t_out * torch.from_numpy(g_out))
        + torch.sum(t_h[0] * torch.from_numpy(g_h))
        + torch.sum(t_c[0] * torch.from_numpy(g_c))
    )
    loss.backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n, t_h[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n, t_c[0].detach().numpy(), rtol=1e-12, atol=1e-14)
    for name, g in grads.items():
        np.testing.assert_allclose(g, p[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
