"""The C step kernels (rnnkit.ops.cpu) against the torch step classes, and how they are built.

Every fused LSTM and GRU op runs with ``step_impl="c"`` and ``"torch"`` on the same problem:
outputs, the cached activations and every gradient (random upstream gradients on every output),
float64 to round-off and float32 to fp32 round-off; hidden sizes below, at and across the vector
width (so both the vectorised loop and its remainder run), a ragged batch, no bias, transposed
initial states and upstream gradients. Then the build: cached per machine, turned off by
RNNKIT_CPU_KERNELS=0, a missing compiler named, and loading the library leaves the process's
floating point alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap

import pytest
import torch

import rnnkit.ops.cpu as cpu_kernels
from rnnkit.ops._step_impl import resolve_step_impl
from rnnkit.ops.cpu._build import BuildError, load_library

VARIANTS = ["lstm", "lstm-peephole", "gru-reset_after", "gru-reset_before"]  # the RNN has none
SHAPES = {  # (lengths, input size, hidden size): H 5 (remainder only), 16 (vectors only), 37
    "dense-T3-B3-H5": ((3, 3, 3), 3, 5),
    "dense-T4-B2-H16": ((4, 4), 3, 16),
    "ragged-T5-B4-H37": ((5, 4, 4, 1), 6, 37),
}
TOLERANCE = {
    torch.float64: {"atol": 1e-12, "rtol": 1e-12},  # observed ≤ 1e-14
    torch.float32: {"atol": 2e-5, "rtol": 2e-5},  # observed ~2e-6: fp32 round-off
}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_torch_steps(variant, shape, dtype, fused_problem, fused_runner, assert_all):
    problem = fused_problem(variant, *SHAPES[shape]).to(dtype)
    want_out, want_cache, want_grads = fused_runner(variant, problem, "torch")
    got_out, got_cache, got_grads = fused_runner(variant, problem, "c")
    assert_all("output", want_out, got_out, **TOLERANCE[dtype])
    assert_all("cache", want_cache, got_cache, **TOLERANCE[dtype])
    assert_all("grad", want_grads, got_grads, **TOLERANCE[dtype])


@pytest.mark.parametrize("variant", ["lstm-peephole", "gru-reset_after", "gru-reset_before"])
def test_without_bias(variant, fused_problem, fused_runner, assert_all) -> None:
    problem = fused_problem(variant, (5, 4, 4, 1), 6, 37, bias=False)
    want_out, _, want_grads = fused_runner(variant, problem, "torch")
    got_out, _, got_grads = fused_runner(variant, problem, "c")
    assert_all("output", want_out, got_out, **TOLERANCE[torch.float64])
    assert_all("grad", want_grads, got_grads, **TOLERANCE[torch.float64])


def test_saturated_gates_stay_finite(fused_problem, fused_runner) -> None:
    """Pre-activations of ±400 (exp overflows float32 there): saturated gates, no NaN."""
    problem = fused_problem("lstm-peephole", (3, 3), 2, 20).to(torch.float32)
    rows = problem.inputs["x"].shape[0]
    sign = torch.arange(rows).remainder(2).mul(2).sub(1).unsqueeze(1)  # rows of −1, +1, −1, …
    problem.inputs["x"] = sign.float().expand(rows, 2) * 200
    problem.inputs["w_ih"] = torch.ones_like(problem.inputs["w_ih"])
    outputs, cached, grads = fused_runner("lstm-peephole", problem, "c")
    for name, value in {**outputs, **cached, **grads}.items():
        assert torch.isfinite(value).all(), f"{name} has non-finite values"
    gates = cached["acts"].abs()
    assert float(torch.minimum(gates, (gates - 1).abs()).max()) < 1e-30, "gates not saturated"


# --- choosing the implementation ----------------------------------------------------------------


def test_default_on_cpu() -> None:
    assert cpu_kernels.available(), cpu_kernels.unavailable_reason()
    assert resolve_step_impl(None, torch.zeros(2, 3)) == "c"
    assert resolve_step_impl(None, torch.zeros(2, 3, dtype=torch.float64)) == "c"
    assert resolve_step_impl(None, torch.zeros(2, 3, dtype=torch.bfloat16)) == "torch"
    assert resolve_step_impl("torch", torch.zeros(2, 3)) == "torch"


def test_bad_choice_is_named(monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"float32 or float64, got torch\.bfloat16"):
        resolve_step_impl("c", torch.zeros(2, 3, dtype=torch.bfloat16))
    monkeypatch.setattr(cpu_kernels, "_library", lambda: BuildError("no C compiler found"))
    assert resolve_step_impl(None, torch.zeros(2, 3)) == "torch"
    with pytest.raises(RuntimeError, match="step_impl='c': no C compiler found"):
        resolve_step_impl("c", torch.zeros(2, 3))


# --- building -----------------------------------------------------------------------------------


def test_built_once_then_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    load_library()
    (built,) = tmp_path.glob("rnnkit_cpu_kernels-*.so")
    stamp = built.stat().st_mtime_ns
    load_library()
    assert [p.name for p in tmp_path.iterdir()] == [built.name], "temporary files left behind"
    assert built.stat().st_mtime_ns == stamp, "rebuilt although cached"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RNNKIT_CPU_KERNELS": "0"}, "turned off by RNNKIT_CPU_KERNELS=0"),
        ({"CC": "/nonexistent/cc"}, "compiling .*kernels.c failed: .*nonexistent/cc"),
    ],
)
def test_unbuildable_says_why(env, message, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(BuildError, match=message):
        load_library()


def test_without_the_kernels_a_fused_layer_still_trains(tmp_path) -> None:
    """No compiler: the fused ops fall back to the torch steps, and gradients still flow."""
    code = textwrap.dedent(
        """
        import torch, rnnkit
        from rnnkit.ops import cpu
        from rnnkit.ops._step_impl import resolve_step_impl
        assert not cpu.available() and "nonexistent" in cpu.unavailable_reason()
        assert resolve_step_impl(None, torch.zeros(1)) == "torch"
        layer = rnnkit.GRU(3, 4, reset_after=False, backend="fused")
        out, _ = layer(torch.randn(5, 2, 3))
        out.sum().backward()
        assert layer.weight_hh_l0.grad.abs().sum() > 0
        """
    )
    env = {"CC": "/nonexistent/cc", "RNNKIT_CACHE_DIR": str(tmp_path), "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_loading_keeps_subnormal_numbers() -> None:
    """The library is linked without -ffast-math, which would set flush-to-zero for the whole
    process: float32 subnormals still survive arithmetic after it loads."""
    assert cpu_kernels.available()
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert float(tiny * 1.5) > 0


def test_unusable_home_cache_falls_back_to_the_temp_dir(tmp_path, monkeypatch) -> None:
    """~/.cache/rnnkit that cannot be made (here: its parent is a file): the temp dir serves."""
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.delenv("RNNKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    load_library()
    assert list((tmp_path / "tmp").glob("rnnkit-*/rnnkit_cpu_kernels-*.so"))
