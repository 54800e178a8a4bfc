"""rnnkit.ops.rnn against the NumPy reference: fused and loop, forward/backward called directly,
dense and variable lengths, every output and gradient; gradcheck; float32 fused vs loop. Both
nonlinearities, tanh and relu."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch

import rnnkit.ops.rnn as rnn_module
from rnnkit import reference as ref
from rnnkit.ops import rnn_backward, rnn_forward, rnn_fused, rnn_loop

NONLINEARITY = ["tanh", "relu"]
BIAS = [pytest.param(True, id="bias"), pytest.param(False, id="nobias")]
BACKENDS = {"fused": rnn_fused, "loop": rnn_loop}


def reference(nonlinearity: str) -> Callable[..., tuple[dict, dict]]:
    def run(inputs: dict[str, Any], upstream: dict[str, Any]) -> tuple[dict, dict]:
        (out, h_n), cache = ref.rnn_forward(
            inputs["x"], inputs["h0"], inputs["w_ih"], inputs["w_hh"],
            inputs["b_ih"], inputs["b_hh"], nonlinearity=nonlinearity,
        )  # fmt: skip
        grads = ref.rnn_backward(upstream["out"], upstream["h_n"], cache)
        return {"out": out, "h_n": h_n}, grads

    return run


def rnn_problem(make: Callable[..., Any], shape: Any, bias: bool = True) -> Any:
    return make(shape, gates=1, bias=bias)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("nonlinearity", NONLINEARITY)
def test_matches_reference(
    shape, nonlinearity, bias, backend, problem_maker, autograd_runner, assert_all
) -> None:
    """Outputs and every gradient, with random upstream gradients on out and h_n; dense shapes
    run the reference on the whole batch, ragged ones on each sequence alone."""
    problem = rnn_problem(problem_maker, shape, bias)
    want_out, want_grads = problem.expected(reference(nonlinearity))
    op = partial(BACKENDS[backend], nonlinearity=nonlinearity)
    got_out, got_grads = autograd_runner(op, problem)
    assert_all("output", want_out, got_out)
    assert_all("grad", want_grads, got_grads)


def test_relu_is_exercised(shape, problem_maker) -> None:
    """The relu cases above mean something only if some pre-activations are negative (the
    clamped branch) and some positive."""
    problem = rnn_problem(problem_maker, shape)
    (out, _), _ = rnn_forward(*problem.inputs.values(), problem.batch_sizes, nonlinearity="relu")
    zero = float((out == 0).double().mean())
    assert 0.1 < zero < 0.9, f"fraction of clamped units {zero:.2f}"


@pytest.mark.parametrize("need_input_grad", [True, False], ids=["input_grad", "no_input_grad"])
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("nonlinearity", NONLINEARITY)
def test_forward_backward_directly(
    shape, nonlinearity, bias, need_input_grad, problem_maker, direct_checker
) -> None:
    """rnn_forward / rnn_backward without autograd (see ``check_forward_backward_directly``)."""
    problem = rnn_problem(problem_maker, shape, bias)
    forward = partial(rnn_forward, nonlinearity=nonlinearity)
    direct_checker(
        forward, rnn_backward, problem, reference(nonlinearity), need_input_grad=need_input_grad
    )


@pytest.mark.parametrize("nonlinearity", NONLINEARITY)
def test_fused_without_input_grad(
    ragged_shape, nonlinearity, problem_maker, no_input_grad_checker
) -> None:
    """x not requiring grad: the backward is told to skip grad x, the other gradients are
    unchanged."""
    problem = rnn_problem(problem_maker, ragged_shape)
    op = partial(rnn_fused, nonlinearity=nonlinearity)
    no_input_grad_checker(rnn_module, "rnn_backward", op, problem, reference(nonlinearity))


@pytest.mark.parametrize("nonlinearity", NONLINEARITY)
def test_gradcheck(small_shape, nonlinearity, problem_maker, gradchecker) -> None:
    problem = rnn_problem(problem_maker, small_shape)
    assert gradchecker(partial(rnn_fused, nonlinearity=nonlinearity), problem)


@pytest.mark.parametrize("nonlinearity", NONLINEARITY)
def test_float32_fused_matches_loop(
    medium_shape, nonlinearity, problem_maker, autograd_runner, assert_all
) -> None:
    problem = rnn_problem(problem_maker, medium_shape).to(torch.float32)
    loop_out, loop_grads = autograd_runner(partial(rnn_loop, nonlinearity=nonlinearity), problem)
    fused_out, fused_grads = autograd_runner(partial(rnn_fused, nonlinearity=nonlinearity), problem)
    assert_all("output", loop_out, fused_out, atol=1e-5, rtol=1e-5)
    assert_all("grad", loop_grads, fused_grads, atol=1e-5, rtol=1e-5)
