"""Zoneout inside the fused ops (:mod:`rnnkit.ops._zoneout`): given the same keep weights, the
fused op and its per-step autograd twin give the same outputs and the same gradients of every
input, with the C step kernels and with torch's, on dense and ragged batches; float64
``gradcheck`` on the fused op; keep weights 0 are no zoneout, 1 keep the initial state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor

from rnnkit.ops import gru_fused, gru_loop, lstm_fused, lstm_loop, rnn_fused, rnn_loop
from rnnkit.ops._zoneout import keep_weights

F64 = torch.float64
N_IN, H = 4, 5
SIZES = {"dense": [3, 3, 3, 3, 3], "ragged": [4, 3, 3, 1]}

# variant -> (fused, loop, gates, states, options); the LSTM's peephole weights ride in options
VARIANTS: dict[str, tuple[Callable[..., Any], Callable[..., Any], int, int, dict[str, Any]]] = {
    "rnn_tanh": (rnn_fused, rnn_loop, 1, 1, {"nonlinearity": "tanh"}),
    "rnn_relu": (rnn_fused, rnn_loop, 1, 1, {"nonlinearity": "relu"}),
    "gru": (gru_fused, gru_loop, 3, 1, {"reset_after": True}),
    "gru_reset_before": (gru_fused, gru_loop, 3, 1, {"reset_after": False}),
    "lstm": (lstm_fused, lstm_loop, 4, 2, {}),
    "lstm_peephole": (lstm_fused, lstm_loop, 4, 2, {"peephole": True}),
}


def problem(variant: str, sizes: list[int], keep: str, seed: int = 0) -> tuple[Any, ...]:
    """(positional inputs, differentiable inputs, options with the keep weights) of ``variant``
    over packed rows of ``sizes``; ``keep``: "draw" (Bernoulli(0.4)), "zeros" or "ones"."""
    _, _, gates, states, options = VARIANTS[variant]
    torch.manual_seed(seed)
    N, B = sum(sizes), sizes[0]

    def param(*shape: int) -> Tensor:
        return (0.5 * torch.randn(*shape, dtype=F64)).requires_grad_()

    x = param(N, N_IN)
    state = [param(B, H) for _ in range(states)]
    weights = [param(gates * H, N_IN), param(gates * H, H), param(gates * H), param(gates * H)]
    inputs: list[Any] = [x, *state, *weights]
    options = dict(options)
    if states == 2:
        inputs.append(param(3 * H) if options.pop("peephole", False) else None)
    inputs.append(sizes)
    if keep == "draw":
        masks = [keep_weights(0.4, N, H, training=True, like=x) for _ in range(states)]
    else:
        masks = [torch.full((N, H), float(keep == "ones"), dtype=F64) for _ in range(states)]
    options["zoneout"] = tuple(masks) if states == 2 else masks[0]
    leaves = [a for a in inputs if isinstance(a, Tensor)]
    return inputs, leaves, options


def run(op: Callable[..., Any], inputs: list[Any], options: dict[str, Any]) -> tuple[Tensor, ...]:
    result: tuple[Tensor, ...] = op(*inputs, **options)
    return result


@pytest.mark.parametrize("layout", list(SIZES))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fused_equals_the_loop_given_the_same_keep_weights(
    variant: str, layout: str, cpu_step_impl: str, assert_close: Callable[..., None]
) -> None:
    fused, loop = VARIANTS[variant][:2]
    inputs, leaves, options = problem(variant, SIZES[layout], "draw")
    got, expected = run(fused, inputs, options), run(loop, inputs, options)
    upstream = [torch.randn_like(o) for o in expected]  # a random gradient on every output
    grads_got = torch.autograd.grad(got, leaves, upstream)
    grads_expected = torch.autograd.grad(expected, leaves, upstream)
    for k, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert_close(f"output {k}", e, g, atol=1e-12, rtol=1e-12)
    for k, (e, g) in enumerate(zip(grads_expected, grads_got, strict=True)):
        assert_close(f"gradient of input {k}", e, g, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("variant", ["rnn_tanh", "gru", "gru_reset_before", "lstm_peephole"])
def test_fused_gradcheck_with_zoneout(variant: str) -> None:
    fused = VARIANTS[variant][0]
    inputs, leaves, options = problem(variant, SIZES["ragged"], "draw", seed=3)

    def f(*values: Tensor) -> tuple[Tensor, ...]:
        it = iter(values)
        return run(fused, [next(it) if isinstance(a, Tensor) else a for a in inputs], options)

    assert torch.autograd.gradcheck(f, tuple(leaves))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_keep_weights_zero_are_no_zoneout_and_one_keeps_the_initial_state(variant: str) -> None:
    fused = VARIANTS[variant][0]
    states = VARIANTS[variant][3]
    inputs, _, options = problem(variant, SIZES["ragged"], "zeros")
    plain = {k: v for k, v in options.items() if k != "zoneout"}
    for a, b in zip(run(fused, inputs, options), run(fused, inputs, plain), strict=True):
        assert torch.equal(a, b)
    inputs, _, options = problem(variant, SIZES["ragged"], "ones")
    out, *finals = run(fused, inputs, options)
    for final, start in zip(finals, inputs[1 : 1 + states], strict=True):
        assert torch.equal(final, start)  # every sequence ends where it started
    assert torch.equal(out[:4], inputs[1])  # the first step's rows: h_0 itself


def test_keep_weights_draw_bernoulli_in_training_and_p_in_eval() -> None:
    like = torch.zeros(1, dtype=F64)
    torch.manual_seed(0)
    drawn = keep_weights(0.3, 400, 50, training=True, like=like)
    assert drawn.dtype == F64 and set(drawn.unique().tolist()) == {0.0, 1.0}
    assert 0.27 < float(drawn.mean()) < 0.33
    assert torch.equal(
        keep_weights(0.3, 2, 3, training=False, like=like), torch.full((2, 3), 0.3, dtype=F64)
    )


def test_the_fused_lstm_refuses_zoneout_with_a_projection() -> None:
    inputs, _, options = problem("lstm", SIZES["dense"], "draw")
    w_hr = torch.randn(3, H, dtype=F64)  # refused before any shape is read
    with pytest.raises(ValueError, match="zoneout with a projection"):
        lstm_fused(*inputs, w_hr=w_hr, **options)
