"""The Triton kernels compiled for a GPU, at full sizes: run only where CUDA and triton are.

``make gpu-check`` runs this folder alone (``pytest tests/ops/gpu``): tests/ops/triton's
conftest turns on Triton's interpreter for the whole session, so in a run of the whole suite the
kernels would be interpreted, and this module refuses to run then. On a machine without a GPU
every test here is skipped, and nothing is claimed for them.

- every fused op's Triton steps against its torch steps on CUDA: T = 256, B = 64, H = 512 and
  1024, random upstream gradients on every output, fp32 and bf16 (outputs, caches, gradients);
- the persistent forward kernels against the fused forward at batch 1 and 8, H = 512.
"""

from __future__ import annotations

import pytest
import torch

from rnnkit._env import switch
from rnnkit.ops import triton as triton_kernels

# rnnkit.ops.triton.persistent and .kernels are imported in the tests, never at collection: in a
# run of the whole suite, tests/ops/triton's conftest must set TRITON_INTERPRET before they are.

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and triton_kernels.available()),
    reason="needs a CUDA GPU and triton (make gpu-check on a GPU machine)",
)

VARIANTS = ["lstm", "lstm-peephole", "lstm-proj", "gru-reset_after", "gru-reset_before", "rnn-tanh"]
T, B = 256, 64
# Largest difference over a tensor's largest value. fp32: the two implementations round
# differently (Triton's exp and tanh vs torch's), ~1e-7 a step, grown over 256 steps forward
# and back; a wrong term is off by 1e-2 or more. bf16: 8 significant bits.
REL = {torch.float32: 1e-4, torch.bfloat16: 5e-2}


@pytest.fixture(autouse=True)
def _compiled_kernels() -> None:
    interpreted = switch("TRITON_INTERPRET", default=False)
    assert not interpreted, "TRITON_INTERPRET is set: run `pytest tests/ops/gpu` on its own"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("hidden", [512, 1024])
@pytest.mark.parametrize("variant", VARIANTS)
def test_triton_steps_match_torch_steps(
    variant, hidden, dtype, fused_problem, fused_runner, assert_all_to_scale
):
    problem = fused_problem(variant, (T,) * B, hidden, hidden).to(torch.float32, "cuda")
    want = fused_runner(variant, problem, "torch")
    got = fused_runner(variant, problem.to(dtype, "cuda"), "triton")
    for what, ref, mine in zip(("output", "cache", "grad"), want, got, strict=True):
        assert_all_to_scale(what, ref, mine, REL[dtype])


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("variant", ["lstm", "gru-reset_after"])
def test_persistent_matches_the_fused_forward(
    variant, batch, fused_problem, fused_runner, assert_all_to_scale
):
    from rnnkit.ops.triton.persistent import gru_persistent, lstm_persistent

    problem = fused_problem(variant, (T,) * batch, 512, 512).to(torch.float32, "cuda")
    want, _, _ = fused_runner(variant, problem, "torch")
    inputs = problem.inputs
    if variant == "lstm":
        args = [inputs[k] for k in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")]
        got = dict(
            zip(("out", "h_n", "c_n"), lstm_persistent(*args, problem.batch_sizes), strict=True)
        )
    else:
        args = [inputs[k] for k in ("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh")]
        got = dict(zip(("out", "h_n"), gru_persistent(*args, problem.batch_sizes), strict=True))
    assert_all_to_scale("output", want, got, REL[torch.float32])
