"""rnnkit.ops.lstm against the NumPy reference: fused and loop, forward/backward called directly,
dense and variable lengths, every output and gradient; gradcheck; float32 fused vs loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import rnnkit.ops.lstm as lstm_module
from rnnkit import reference as ref
from rnnkit.ops import lstm_backward, lstm_forward, lstm_fused, lstm_loop

PEEPHOLE = [pytest.param(False, id="plain"), pytest.param(True, id="peephole")]
BIAS = [pytest.param(True, id="bias"), pytest.param(False, id="nobias")]
BACKENDS = {"fused": lstm_fused, "loop": lstm_loop}


def reference(inputs: dict[str, Any], upstream: dict[str, Any]) -> tuple[dict, dict]:
    (out, (h_n, c_n)), cache = ref.lstm_forward(
        inputs["x"], inputs["h0"], inputs["c0"], inputs["w_ih"], inputs["w_hh"],
        inputs["b_ih"], inputs["b_hh"], w_ch=inputs["w_ch"],
    )  # fmt: skip
    grads = ref.lstm_backward(upstream["out"], (upstream["h_n"], upstream["c_n"]), cache)
    return {"out": out, "h_n": h_n, "c_n": c_n}, grads


def lstm_problem(make: Callable[..., Any], shape: Any, peephole: bool, bias: bool = True) -> Any:
    return make(shape, gates=4, cell=True, peephole=peephole, bias=bias)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_matches_reference(
    shape, peephole, bias, backend, problem_maker, autograd_runner, assert_all
) -> None:
    """Outputs and every gradient, with random upstream gradients on out, h_n and c_n; dense
    shapes run the reference on the whole batch, ragged ones on each sequence alone."""
    problem = lstm_problem(problem_maker, shape, peephole, bias)
    want_out, want_grads = problem.expected(reference)
    got_out, got_grads = autograd_runner(BACKENDS[backend], problem)
    assert_all("output", want_out, got_out)
    assert_all("grad", want_grads, got_grads)


@pytest.mark.parametrize("need_input_grad", [True, False], ids=["input_grad", "no_input_grad"])
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_forward_backward_directly(
    cpu_step_impl, shape, peephole, bias, need_input_grad, problem_maker, direct_checker
) -> None:
    """lstm_forward / lstm_backward without autograd (see ``check_forward_backward_directly``)."""
    problem = lstm_problem(problem_maker, shape, peephole, bias)
    direct_checker(lstm_forward, lstm_backward, problem, reference, need_input_grad=need_input_grad)


@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_fused_without_input_grad(
    ragged_shape, peephole, problem_maker, no_input_grad_checker
) -> None:
    """x not requiring grad: the backward is told to skip grad x, the other gradients are
    unchanged."""
    problem = lstm_problem(problem_maker, ragged_shape, peephole)
    no_input_grad_checker(lstm_module, "lstm_backward", lstm_fused, problem, reference)


@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_gradcheck(cpu_step_impl, small_shape, peephole, problem_maker, gradchecker) -> None:
    problem = lstm_problem(problem_maker, small_shape, peephole)
    assert gradchecker(lstm_fused, problem)


@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_float32_fused_matches_loop(
    cpu_step_impl, medium_shape, peephole, problem_maker, autograd_runner, assert_all
) -> None:
    problem = lstm_problem(problem_maker, medium_shape, peephole).to(torch.float32)
    loop_out, loop_grads = autograd_runner(lstm_loop, problem)
    fused_out, fused_grads = autograd_runner(lstm_fused, problem)
    assert_all("output", loop_out, fused_out, atol=1e-5, rtol=1e-5)
    assert_all("grad", loop_grads, fused_grads, atol=1e-5, rtol=1e-5)
