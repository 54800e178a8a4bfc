"""rnnkit.ops.lstm against the NumPy reference: fused and loop, forward/backward called directly,
dense and variable lengths, every output and gradient; gradcheck; float32 fused vs loop; each
with and without peepholes, and with a projection (w_hr, torch's proj_size)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import rnnkit.ops.lstm as lstm_module
from rnnkit import reference as ref
from rnnkit.ops import lstm_backward, lstm_forward, lstm_fused, lstm_loop

PEEPHOLE = [pytest.param(False, id="plain"), pytest.param(True, id="peephole")]
PROJ = [pytest.param(0, id="no_proj"), pytest.param(3, id="proj3")]  # P = 3 < H (5, 6, 32)
BIAS = [pytest.param(True, id="bias"), pytest.param(False, id="nobias")]
BACKENDS = {"fused": lstm_fused, "loop": lstm_loop}


def reference(inputs: dict[str, Any], upstream: dict[str, Any]) -> tuple[dict, dict]:
    (out, (h_n, c_n)), cache = ref.lstm_forward(
        inputs["x"], inputs["h0"], inputs["c0"], inputs["w_ih"], inputs["w_hh"],
        inputs["b_ih"], inputs["b_hh"], w_ch=inputs["w_ch"], w_hr=inputs.get("w_hr"),
    )  # fmt: skip
    grads = ref.lstm_backward(upstream["out"], (upstream["h_n"], upstream["c_n"]), cache)
    return {"out": out, "h_n": h_n, "c_n": c_n}, grads


def lstm_problem(
    make: Callable[..., Any], shape: Any, peephole: bool, bias: bool = True, proj: int = 0
) -> Any:
    return make(shape, gates=4, cell=True, peephole=peephole, bias=bias, proj=proj)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("proj", PROJ)
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_matches_reference(
    shape, peephole, bias, proj, backend, problem_maker, autograd_runner, assert_all
) -> None:
    """Outputs and every gradient, with random upstream gradients on out, h_n and c_n; dense
    shapes run the reference on the whole batch, ragged ones on each sequence alone."""
    problem = lstm_problem(problem_maker, shape, peephole, bias, proj)
    want_out, want_grads = problem.expected(reference)
    got_out, got_grads = autograd_runner(BACKENDS[backend], problem)
    assert_all("output", want_out, got_out)
    assert_all("grad", want_grads, got_grads)


@pytest.mark.parametrize("need_input_grad", [True, False], ids=["input_grad", "no_input_grad"])
@pytest.mark.parametrize("proj", PROJ)
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_forward_backward_directly(
    cpu_step_impl, shape, peephole, bias, proj, need_input_grad, problem_maker, direct_checker
) -> None:
    """lstm_forward / lstm_backward without autograd (see ``check_forward_backward_directly``)."""
    problem = lstm_problem(problem_maker, shape, peephole, bias, proj)
    direct_checker(lstm_forward, lstm_backward, problem, reference, need_input_grad=need_input_grad)


@pytest.mark.parametrize("proj", PROJ)
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_fused_without_input_grad(
    ragged_shape, peephole, proj, problem_maker, no_input_grad_checker
) -> None:
    """x not requiring grad: the backward is told to skip grad x, the other gradients are
    unchanged."""
    problem = lstm_problem(problem_maker, ragged_shape, peephole, proj=proj)
    no_input_grad_checker(lstm_module, "lstm_backward", lstm_fused, problem, reference)


@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_gradcheck(cpu_step_impl, small_shape, peephole, problem_maker, gradchecker) -> None:
    problem = lstm_problem(problem_maker, small_shape, peephole)
    assert gradchecker(lstm_fused, problem)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_projection_gradcheck(
    cpu_step_impl, small_shape, peephole, backend, problem_maker, gradchecker
) -> None:
    """float64 central differences through every input, w_hr included (P = 2 < H = 3)."""
    problem = lstm_problem(problem_maker, small_shape, peephole, proj=2)
    assert gradchecker(BACKENDS[backend], problem)


def test_projection_shapes_and_cache(ragged_shape, problem_maker) -> None:
    """out and h_n are P wide, c_n H wide; the cache keeps h (P wide), not r = o ⊙ tanh(c)."""
    problem = lstm_problem(problem_maker, ragged_shape, False, proj=3)
    inputs = dict(problem.inputs)
    w_hr = inputs.pop("w_hr")
    (out, h_n, c_n), cache = lstm_forward(*inputs.values(), problem.batch_sizes, w_hr=w_hr)
    N, B, H = out.shape[0], ragged_shape.batch, ragged_shape.hidden
    assert out.shape == (N, 3) and h_n.shape == (B, 3) and c_n.shape == (B, H)
    assert cache.out.shape == (N, 3) and cache.w_hr is w_hr
    rows = [t for t in cache if isinstance(t, torch.Tensor) and t.shape[0] == N]
    # x, acts, cells, tanh_cells, out: no (N, H) rows of r beside them
    assert sorted(t.shape[1] for t in rows) == sorted([ragged_shape.n_in, 4 * H, H, H, 3])


def test_without_projection_runs_no_projection_product(
    ragged_shape, problem_maker, monkeypatch
) -> None:
    """w_hr=None: the same products as before projections existed (one StepMatmul each way)."""
    made = []
    original = lstm_module.StepMatmul

    def spy(matrix: torch.Tensor, sizes: Any) -> Any:
        made.append(tuple(matrix.shape))
        return original(matrix, sizes)

    monkeypatch.setattr(lstm_module, "StepMatmul", spy)
    problem = lstm_problem(problem_maker, ragged_shape, False)
    _, cache = lstm_forward(*problem.inputs.values(), problem.batch_sizes)
    lstm_backward(*problem.upstream.values(), cache)
    H = ragged_shape.hidden
    assert made == [(H, 4 * H), (4 * H, H)]
    made.clear()
    problem = lstm_problem(problem_maker, ragged_shape, False, proj=3)
    inputs = dict(problem.inputs)
    w_hr = inputs.pop("w_hr")
    _, cache = lstm_forward(*inputs.values(), problem.batch_sizes, w_hr=w_hr)
    lstm_backward(*problem.upstream.values(), cache)
    assert made == [(3, 4 * H), (H, 3), (4 * H, 3), (3, H)]


@pytest.mark.parametrize("proj", PROJ)
@pytest.mark.parametrize("peephole", PEEPHOLE)
def test_float32_fused_matches_loop(
    cpu_step_impl, medium_shape, peephole, proj, problem_maker, autograd_runner, assert_all
) -> None:
    problem = lstm_problem(problem_maker, medium_shape, peephole, proj=proj).to(torch.float32)
    loop_out, loop_grads = autograd_runner(lstm_loop, problem)
    fused_out, fused_grads = autograd_runner(lstm_fused, problem)
    assert_all("output", loop_out, fused_out, atol=1e-5, rtol=1e-5)
    assert_all("grad", loop_grads, fused_grads, atol=1e-5, rtol=1e-5)
