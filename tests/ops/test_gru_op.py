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
OUTPUTS = ("out", "h_n")


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
    cpu_step_impl, shape, reset_after, bias, need_input_grad, problem_maker, assert_all
) -> None:
    """gru_forward / gru_backward without autograd: same numbers, None exactly where an input
    is absent (and x when not needed), and neither the inputs nor the upstream gradients are
    modified."""
    problem = gru_problem(problem_maker, shape, bias)
    want_out, want_grads = problem.expected(reference(reset_after))
    inputs_before = {k: v.clone() for k, v in problem.present().items()}
    upstream_before = {k: v.clone() for k, v in problem.upstream.items()}

    outs, cache = gru_forward(
        *problem.inputs.values(), problem.batch_sizes, reset_after=reset_after
    )
    assert_all("output", want_out, dict(zip(OUTPUTS, outs, strict=True)))
    grads = gru_backward(*problem.upstream.values(), cache, need_input_grad=need_input_grad)

    got = grads._asdict()
    absent = {k for k, v in problem.inputs.items() if v is None}
    if not need_input_grad:
        absent.add("x")
    assert {k for k, v in got.items() if v is None} == absent
    assert_all("grad", {k: v for k, v in want_grads.items() if k not in absent},
               {k: v for k, v in got.items() if k not in absent})  # fmt: skip
    for k, v in inputs_before.items():
        assert torch.equal(problem.inputs[k], v), f"input {k} modified"
    for k, v in upstream_before.items():
        assert torch.equal(problem.upstream[k], v), f"upstream gradient of {k} modified"


@pytest.mark.parametrize("reset_after", RESET_AFTER)
def test_fused_without_input_grad(
    ragged_shape, reset_after, problem_maker, autograd_runner, assert_all, monkeypatch
) -> None:
    """x not requiring grad: the backward is told to skip grad x, the other gradients are
    unchanged."""
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs["need_input_grad"])
        return gru_backward(*args, **kwargs)

    monkeypatch.setattr(gru_module, "gru_backward", spy)
    problem = gru_problem(problem_maker, ragged_shape)
    _, want_grads = problem.expected(reference(reset_after))
    del want_grads["x"]
    op = partial(gru_fused, reset_after=reset_after)
    _, got_grads = autograd_runner(op, problem, input_grad=False)
    assert calls == [False]
    assert_all("grad", want_grads, got_grads)


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
