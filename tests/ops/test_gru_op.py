"""rnnkit.ops.gru against the NumPy reference: fused and loop, forward/backward called directly,
dense and variable lengths, every output and gradient; gradcheck; float32 fused vs loop. Both
variants: reset gate after the recurrent product (torch) and before it (Cho et al.)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch

import rnnkit.ops.gru as gru_module
from rnnkit import reference as ref
from rnnkit.ops import gru_backward, gru_forward, gru_fused, gru_loop

RESET_AFTER = [pytest.param(True, id="reset_after"), pytest.param(False, id="reset_before")]
BIAS = [pytest.param(True, id="bias"), pytest.param(False, id="nobias")]
BACKENDS = {"fused": gru_fused, "loop": gru_loop}


def reference(reset_after: bool) -> Callable[..., tuple[dict, dict]]:
    def run(inputs: dict[str, Any], upstream: dict[str, Any]) -> tuple[dict, dict]:
        (out, h_n), cache = ref.gru_forward(
            inputs["x"], inputs["h0"], inputs["w_ih"], inputs["w_hh"],
            inputs["b_ih"], inputs["b_hh"], reset_after=reset_after,
        )  # fmt: skip
        grads = ref.gru_backward(upstream["out"], upstream["h_n"], cache)
        return {"out": out, "h_n": h_n}, grads

    return run


def gru_problem(make: Callable[..., Any], shape: Any, bias: bool = True) -> Any:
    return make(shape, gates=3, bias=bias)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("reset_after", RESET_AFTER)
def test_matches_reference(
    shape, reset_after, bias, backend, problem_maker, autograd_runner, assert_all
) -> None:
    """Outputs and every gradient, with random upstream gradients on out and h_n; dense shapes
    run the reference on the whole batch, ragged ones on each sequence alone."""
    problem = gru_problem(problem_maker, shape, bias)
    want_out, want_grads = problem.expected(reference(reset_after))
    op = partial(BACKENDS[backend], reset_after=reset_after)
    got_out, got_grads = autograd_runner(op, problem)
    assert_all("output", want_out, got_out)
    assert_all("grad", want_grads, got_grads)


@pytest.mark.parametrize("need_input_grad", [True, False], ids=["input_grad", "no_input_grad"])
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("reset_after", RESET_AFTER)
def test_forward_backward_directly(
    cpu_step_impl, shape, reset_after, bias, need_input_grad, problem_maker, direct_checker
) -> None:
    """gru_forward / gru_backward without autograd (see ``check_forward_backward_directly``)."""
    problem = gru_problem(problem_maker, shape, bias)
    forward = partial(gru_forward, reset_after=reset_after)
    direct_checker(
        forward, gru_backward, problem, reference(reset_after), need_input_grad=need_input_grad
    )


@pytest.mark.parametrize("reset_after", RESET_AFTER)
def test_fused_without_input_grad(
    ragged_shape, reset_after, problem_maker, no_input_grad_checker
) -> None:
    """x not requiring grad: the backward is told to skip grad x, the other gradients are
    unchanged."""
    problem = gru_problem(problem_maker, ragged_shape)
    op = partial(gru_fused, reset_after=reset_after)
    no_input_grad_checker(gru_module, "gru_backward", op, problem, reference(reset_after))


@pytest.mark.parametrize("reset_after", RESET_AFTER)
def test_gradcheck(cpu_step_impl, small_shape, reset_after, problem_maker, gradchecker) -> None:
    problem = gru_problem(problem_maker, small_shape)
    assert gradchecker(partial(gru_fused, reset_after=reset_after), problem)


@pytest.mark.parametrize("reset_after", RESET_AFTER)
def test_float32_fused_matches_loop(
    cpu_step_impl, medium_shape, reset_after, problem_maker, autograd_runner, assert_all
) -> None:
    problem = gru_problem(problem_maker, medium_shape).to(torch.float32)
    loop_out, loop_grads = autograd_runner(partial(gru_loop, reset_after=reset_after), problem)
    fused_out, fused_grads = autograd_runner(partial(gru_fused, reset_after=reset_after), problem)
    assert_all("output", loop_out, fused_out, atol=1e-5, rtol=1e-5)
    assert_all("grad", loop_grads, fused_grads, atol=1e-5, rtol=1e-5)
