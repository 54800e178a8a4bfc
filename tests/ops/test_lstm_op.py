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
OUTPUTS = ("out", "h_n", "c_n")


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
    cpu_step_impl, shape, peephole, bias, need_input_grad, problem_maker, assert_all
) -> None:
    """lstm_forward / lstm_backward without autograd: same numbers, None exactly where an input
    is absent (and x when not needed), and neither the inputs nor the upstream gradients are
    modified."""
    problem = lstm_problem(problem_maker, shape, peephole, bias)
    want_out, want_grads = problem.expected(reference)
    inputs_before = {k: v.clone() for k, v in problem.present().items()}
    upstream_before = {k: v.clone() for k, v in problem.upstream.items()}

    outs, cache = lstm_forward(*problem.inputs.values(), problem.batch_sizes)
    assert_all("output", want_out, dict(zip(OUTPUTS, outs, strict=True)))
    grads = lstm_backward(*problem.upstream.values(), cache, need_input_grad=need_input_grad)

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


@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_fused_without_input_grad(
    ragged_shape, peephole, problem_maker, autograd_runner, assert_all, monkeypatch
) -> None:
    """x not requiring grad: the backward is told to skip grad x, the other gradients are
    unchanged."""
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs["need_input_grad"])
        return lstm_backward(*args, **kwargs)

    monkeypatch.setattr(lstm_module, "lstm_backward", spy)
    problem = lstm_problem(problem_maker, ragged_shape, peephole)
    _, want_grads = problem.expected(reference)
    del want_grads["x"]
    _, got_grads = autograd_runner(lstm_fused, problem, input_grad=False)
    assert calls == [False]
    assert_all("grad", want_grads, got_grads)


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
