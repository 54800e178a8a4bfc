"""The Triton step kernels against the torch steps, in Triton's interpreter on CPU tensors.

Every fused op runs with ``step_impl="triton"`` and ``"torch"`` on the same problem: outputs, the
cached activations and every gradient (random upstream gradients on every output), odd sizes,
a ragged batch (batch_sizes 3, 3, 2, 1), non-contiguous initial states and upstream gradients;
fp32 tight, bf16 loose. Then how the implementation is chosen, and rnnkit without triton.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import torch

import rnnkit.ops.triton as triton_package
import rnnkit.ops.triton._launch as launch
from rnnkit.ops._step_impl import resolve_step_impl

pytest.importorskip("triton")

VARIANTS = [
    "lstm", "lstm-peephole", "lstm-peephole-proj",
    "gru-reset_after", "gru-reset_before", "rnn-tanh", "rnn-relu",
]  # fmt: skip
SHAPES = {  # (lengths, input size, hidden size); the ragged one packs to batch_sizes 3, 3, 2, 1
    "dense-T3-B3-H7": ((3, 3, 3), 3, 7),
    "ragged-T4-B3-H5": ((4, 3, 2), 4, 5),
}
FP32_TOL = {"atol": 2e-5, "rtol": 2e-5}  # observed differences ~1e-6: round-off of fp32 math
# bf16 keeps 8 significant bits (2⁻⁸ ≈ 0.4 %); over 4 steps forward and back torch's own bf16 run
# is off by up to 1.3 % of a tensor's largest value, the kernels by up to 1.7 % in the interpreter,
# whose fp32 -> bf16 casts truncate (compiled Triton rounds to nearest even). A wrong term is off
# by 10 % or more.
BF16_REL = 0.04


def make(fused_problem: Any, shape: str, variant: str, **options: Any) -> Any:
    return fused_problem(variant, *SHAPES[shape], **options)


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_matches_torch_steps(
    variant, shape, fused_problem, fused_runner, assert_all
) -> None:
    problem = make(fused_problem, shape, variant).to(torch.float32)
    if shape.startswith("ragged"):
        assert problem.batch_sizes == [3, 3, 2, 1]
    want_out, want_cache, want_grads = fused_runner(variant, problem, "torch")
    got_out, got_cache, got_grads = fused_runner(variant, problem, "triton")
    assert_all("output", want_out, got_out, **FP32_TOL)
    assert_all("cache", want_cache, got_cache, **FP32_TOL)
    assert_all("grad", want_grads, got_grads, **FP32_TOL)


@pytest.fixture
def small_tiles(monkeypatch) -> Iterator[None]:
    """Tiles of at most 2 × 4: a (3, 7) step spans a 2 × 2 grid with partial tiles at both edges."""
    monkeypatch.setattr(launch, "TILE_ELEMENTS", 8)
    monkeypatch.setattr(launch, "MAX_BLOCK_H", 4)
    launch.step_grid.cache_clear()
    yield
    launch.step_grid.cache_clear()


@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_over_a_grid_of_tiles(
    variant, small_tiles, fused_problem, fused_runner, assert_all
):
    assert launch.step_grid(3, 7) == ((2, 2), {"BLOCK_B": 2, "BLOCK_H": 4})
    problem = make(fused_problem, "dense-T3-B3-H7", variant).to(torch.float32)
    want_out, _, want_grads = fused_runner(variant, problem, "torch")
    got_out, _, got_grads = fused_runner(variant, problem, "triton")
    assert_all("output", want_out, got_out, **FP32_TOL)
    assert_all("grad", want_grads, got_grads, **FP32_TOL)


def test_float32_without_bias(fused_problem, fused_runner, assert_all) -> None:
    """No bias: the gate pre-activations are the two products alone (the GRU reset-after step
    then gets W_hh h without b_hh)."""
    for variant in ("lstm-peephole", "gru-reset_after"):
        problem = make(fused_problem, "ragged-T4-B3-H5", variant, bias=False)
        problem = problem.to(torch.float32)
        want_out, _, want_grads = fused_runner(variant, problem, "torch")
        got_out, _, got_grads = fused_runner(variant, problem, "triton")
        assert_all(f"{variant} output", want_out, got_out, **FP32_TOL)
        assert_all(f"{variant} grad", want_grads, got_grads, **FP32_TOL)


@pytest.mark.parametrize("variant", VARIANTS)
def test_bfloat16_close_to_float32(
    variant, fused_problem, fused_runner, assert_all_to_scale
) -> None:
    """bf16 in and out, fp32 inside the kernels: every tensor within BF16_REL of its largest
    value from the fp32 run, on the ragged batch."""
    problem = make(fused_problem, "ragged-T4-B3-H5", variant)
    want = fused_runner(variant, problem.to(torch.float32), "torch")
    got = fused_runner(variant, problem.to(torch.bfloat16), "triton")
    for what, ref, mine in zip(("output", "cache", "grad"), want, got, strict=True):
        for name, value in mine.items():
            assert value.dtype == torch.bfloat16, f"{what} {name}: {value.dtype}"
        assert_all_to_scale(what, ref, mine, BF16_REL)


# --- choosing the implementation ----------------------------------------------------------------


def test_never_the_default_on_cpu() -> None:
    """CPU tensors get the C kernels or torch (tests/ops/test_cpu_kernels.py), never Triton,
    even in the interpreter."""
    assert resolve_step_impl(None, torch.zeros(2, 3)) != "triton"
    assert resolve_step_impl("torch", torch.zeros(2, 3, dtype=torch.float64)) == "torch"


@pytest.mark.parametrize(
    ("step_impl", "dtype", "message"),
    [
        ("cuda", torch.float32, "must be 'torch', 'triton', 'c' or None"),
        ("triton", torch.float64, "float32, bfloat16 or float16"),
    ],
)
def test_bad_choice_is_named(step_impl, dtype, message) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_step_impl(step_impl, torch.zeros(2, 3, dtype=dtype))


def test_triton_on_cpu_needs_the_interpreter(monkeypatch) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        resolve_step_impl("triton", torch.zeros(2, 3))


def test_without_triton(monkeypatch) -> None:
    monkeypatch.setattr(triton_package, "available", lambda: False)
    assert resolve_step_impl(None, torch.zeros(2, 3)) != "triton"
    with pytest.raises(RuntimeError, match="pip install triton"):
        resolve_step_impl("triton", torch.zeros(2, 3))


def test_rnnkit_runs_where_triton_does_not_import() -> None:
    """With ``import triton`` failing, rnnkit imports, says triton is unavailable, and a fused
    layer runs forward and backward; importing rnnkit never builds the kernels."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["triton"] = None  # import triton raises ImportError
        import torch, rnnkit
        from rnnkit.ops import triton
        assert not triton.available()
        layer = rnnkit.LSTM(3, 4, peephole=True, backend="fused")
        out, _ = layer(torch.randn(5, 2, 3))
        out.sum().backward()
        assert not any(name.startswith("rnnkit.ops.triton.") for name in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
