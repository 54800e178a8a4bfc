"""The C step kernels (rnnkit.ops.cpu) against the torch step classes, and how they are built.

What the kernels promise, on any x86-64 CPU (they are compiled there with -march=native and
glibc's vector exp and tanh, so their last bits depend on the CPU; the promises do not):

- every output, cached activation and gradient of every fused LSTM and GRU op within
  ``BOUND`` units of round-off of the torch step classes' (|c − torch| ≤ BOUND·eps·(1 + |torch|),
  eps of the dtype), float64 and float32; hidden sizes below, at and across the vector width (so
  both the vectorised loop and its remainder run), a ragged batch, no bias, transposed initial
  states and upstream gradients;
- finite values for large finite inputs (pre-activations of ±400 in float32, ±1000 in float64,
  where exp overflows), with every gate saturated on its input's side to within the dtype's
  resolution: σ within ``tiny`` (the smallest normal number) of 0, σ and tanh within eps/2 of ±1;
- NaN in, NaN out, exactly where the torch step classes give NaN (no finite value made up).

Then the build: cached per user in a folder only that user can write, nothing loaded from a
folder or file others could have written, turned off by RNNKIT_CPU_KERNELS=0, a missing compiler
named, and loading the library leaves the process's floating point alone.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import pytest
import torch

import rnnkit.ops.cpu as cpu_kernels
from rnnkit.ops._step_impl import resolve_step_impl
from rnnkit.ops.cpu import _build
from rnnkit.ops.cpu._build import BuildError, load_library

# the RNN has none; lstm-proj: the projection around the LSTM steps
VARIANTS = ["lstm", "lstm-peephole", "lstm-proj", "gru-reset_after", "gru-reset_before"]
DTYPES = {"f64": torch.float64, "f32": torch.float32}
SHAPES = {  # (lengths, input size, hidden size): H 5 (remainder only), 16 (vectors only), 37
    "dense-T3-B3-H5": ((3, 3, 3), 3, 5),
    "dense-T4-B2-H16": ((4, 4), 3, 16),
    "ragged-T5-B4-H37": ((5, 4, 4, 1), 6, 37),
}
# Units of round-off between the kernels and the torch steps. Both round each element-wise
# operation (≤ 1/2 ulp) and call exp and tanh of a few ulp (libmvec's vector versions ≤ 4 ulp,
# torch's own), and the differences pass through T ≤ 5 steps and the weight gradients' sums over
# ≤ 14 rows: a few tens of eps at most. Observed on an AMD EPYC, built for AVX2, for SSE2 and
# without libmvec: ≤ 5 eps at these sizes in both dtypes, ≤ 24 eps at T 30, H 100.
BOUND = 64


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    """``assert_all``'s atol and rtol for BOUND units of round-off in ``dtype``."""
    eps = torch.finfo(dtype).eps
    return {"atol": BOUND * eps, "rtol": BOUND * eps}


@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_matches_torch_steps(variant, shape, dtype, fused_problem, fused_runner, assert_all):
    problem = fused_problem(variant, *SHAPES[shape]).to(dtype)
    want_out, want_cache, want_grads = fused_runner(variant, problem, "torch")
    got_out, got_cache, got_grads = fused_runner(variant, problem, "c")
    assert_all("output", want_out, got_out, **tolerance(dtype))
    assert_all("cache", want_cache, got_cache, **tolerance(dtype))
    assert_all("grad", want_grads, got_grads, **tolerance(dtype))


@pytest.mark.parametrize("variant", ["lstm-peephole", "gru-reset_after", "gru-reset_before"])
def test_without_bias(variant, fused_problem, fused_runner, assert_all) -> None:
    problem = fused_problem(variant, (5, 4, 4, 1), 6, 37, bias=False)
    want_out, _, want_grads = fused_runner(variant, problem, "torch")
    got_out, _, got_grads = fused_runner(variant, problem, "c")
    assert_all("output", want_out, got_out, **tolerance(torch.float64))
    assert_all("grad", want_grads, got_grads, **tolerance(torch.float64))


# Half the pre-activation each input gives, per dtype: |W x| = 2·this, past where exp(|W x|)
# overflows (88.7 in float32, 709.8 in float64), so that σ's true value rounds to exactly 0 or 1.
SATURATING_INPUT = {torch.float32: 200.0, torch.float64: 500.0}


@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_saturated_gates_stay_finite(variant, dtype, fused_problem, fused_runner, assert_all):
    """Inputs of ±200 (float32) or ±500 (float64) through input weights of 1: every gate of a
    row saturates on its input's side, and nothing overflows to inf or NaN."""
    problem = fused_problem(variant, (3, 3), 2, 37).to(dtype)
    rows = problem.inputs["x"].shape[0]
    sign = torch.arange(rows).remainder(2).mul(2).sub(1).unsqueeze(1).to(dtype)  # −1, +1, −1, …
    problem.inputs["x"] = sign.expand(rows, 2) * SATURATING_INPUT[dtype]
    problem.inputs["w_ih"] = torch.ones_like(problem.inputs["w_ih"])
    outputs, cached, grads = fused_runner(variant, problem, "c")
    for name, value in {**outputs, **cached, **grads}.items():
        assert torch.isfinite(value).all(), f"{name} has non-finite values"

    acts = cached["acts"]  # LSTM i, f, g, o; GRU r, z, n: the third quarter / last third is tanh
    H = acts.shape[1] // (4 if variant.startswith("lstm") else 3)
    is_tanh = torch.zeros(acts.shape[1], dtype=torch.bool)
    is_tanh[2 * H : 3 * H] = True
    positive = (sign > 0).expand_as(acts)
    finfo = torch.finfo(dtype)
    one_side = torch.where(positive, (1 - acts).abs(), acts.abs())
    minus_one_side = torch.where(positive, (1 - acts).abs(), (1 + acts).abs())
    off = torch.where(is_tanh, minus_one_side / (finfo.eps / 2), one_side / finfo.tiny)
    assert float(off.max()) <= 1, (
        f"gates not saturated: {int((off > 1).sum())} of {off.numel()} off by more than "
        f"{finfo.tiny:.3g} from 0 or {finfo.eps / 2:.3g} from ±1; largest {float(off.max()):.3g}×"
    )
    want_out, want_cache, want_grads = fused_runner(variant, problem, "torch")
    assert_all("output", want_out, outputs, **tolerance(dtype))
    assert_all("cache", want_cache, cached, **tolerance(dtype))
    assert_all("grad", want_grads, grads, **tolerance(dtype))


@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
@pytest.mark.parametrize("variant", VARIANTS)
def test_nan_propagates(variant, dtype, fused_problem, fused_runner) -> None:
    """One NaN in x (sequence 1, step 1): the kernels give NaN exactly where the torch steps do
    (that sequence from step 1 on, its earlier input gradients, every weight gradient), and the
    same values elsewhere."""
    problem = fused_problem(variant, (4, 4, 4), 3, 37).to(dtype)
    problem.inputs["x"][3 + 1, 0] = float("nan")  # packed rows: step 1 starts at row 3
    want = fused_runner(variant, problem, "torch")
    got = fused_runner(variant, problem, "c")
    assert bool(want[0]["out"].isnan().any()) and not bool(want[0]["out"].isnan().all())
    bound = BOUND * torch.finfo(dtype).eps
    for part, want_part, got_part in zip(("output", "cache", "grad"), want, got, strict=True):
        assert set(got_part) == set(want_part), part
        for name, w in want_part.items():
            g = got_part[name]
            nan = w.isnan()
            assert torch.equal(g.isnan(), nan), (
                f"{part} {name}: NaN at {int(g.isnan().sum())} places, the torch steps' at "
                f"{int(nan.sum())} ({int((g.isnan() != nan).sum())} differ)"
            )
            err = (g - w).abs()[~nan]
            assert bool((err <= bound * (1 + w.abs()[~nan])).all()), f"{part} {name} differs"


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


def test_built_once_then_cached_privately(tmp_path, monkeypatch) -> None:
    """Built into a cache folder made with mode 0o700 and a file no one else can write, whatever
    the umask (here 0); the second time loaded from the cache, without a warning."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(cache))
    umask = os.umask(0)
    try:
        load_library()
    finally:
        os.umask(umask)
    (built,) = cache.glob("rnnkit_cpu_kernels-*.so")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert built.stat().st_mode & 0o022 == 0, f"mode {stat.S_IMODE(built.stat().st_mode):#o}"
    stamp = built.stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_library()
    assert [p.name for p in cache.iterdir()] == [built.name], "temporary files left behind"
    assert built.stat().st_mtime_ns == stamp, "rebuilt although cached"


@pytest.mark.parametrize("unsafe", ["mode", "owner"])
def test_cache_folder_others_could_write_is_not_used(unsafe, tmp_path, monkeypatch) -> None:
    """A cache folder others can write (mode 0o777) or that is not this user's: nothing in it is
    loaded (a file planted under the library's name stays as it is, and nothing is added), the
    kernels are built in a private temporary folder instead, removed once loaded; one warning."""
    private, shared, scratch = tmp_path / "private", tmp_path / "shared", tmp_path / "tmp"
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(private))
    load_library()
    (built,) = private.glob("rnnkit_cpu_kernels-*.so")
    shared.mkdir()
    planted = shared / built.name
    planted.write_bytes(b"planted")
    if unsafe == "mode":
        shared.chmod(0o777)
        reason = r"writable by group or others \(mode 0o777\)"
    else:
        monkeypatch.setattr(_build, "_current_uid", lambda: os.getuid() + 1)
        reason = "owned by uid .*, not by this user"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(shared))
    with pytest.warns(
        RuntimeWarning,
        match=f"not loading or caching the CPU kernels in {re.escape(str(shared))}: {reason}",
    ) as record:
        library = load_library()
    assert len([w for w in record if issubclass(w.category, RuntimeWarning)]) == 1
    assert planted.read_bytes() == b"planted"
    assert [p.name for p in shared.iterdir()] == [planted.name]
    assert Path(library._name).parent.parent == scratch, library._name
    assert callable(library.lstm_forward_f32)
    assert list(scratch.iterdir()) == [], "temporary build folder left behind"


def test_cached_library_others_could_write_is_rebuilt(tmp_path, monkeypatch) -> None:
    """A cached library others can write (mode 0o666; another file renamed over it here) is not
    loaded: it is rebuilt in its place, with a warning, and the rebuilt library is loaded."""
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    load_library()
    (built,) = tmp_path.glob("rnnkit_cpu_kernels-*.so")
    planted = tmp_path / "planted"
    planted.write_bytes(b"planted")
    planted.chmod(0o666)
    # renamed over, not written into: the loaded library is mapped from that file, and writing
    # into a mapped file makes the process crash (SIGBUS) when it next touches those pages
    os.replace(planted, built)
    with pytest.warns(
        RuntimeWarning, match=r"rebuilding .*: writable by group or others \(mode 0o666\)"
    ):
        library = load_library()
    assert library._name == str(built)
    assert built.read_bytes()[:4] == b"\x7fELF"
    assert built.stat().st_mode & 0o022 == 0


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
    """The library is built and linked without -ffast-math, which would set flush-to-zero for
    the whole process: float32 subnormals still survive arithmetic after it loads."""
    assert cpu_kernels.available()
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert float(tiny * 1.5) > 0


def test_no_flag_lets_the_compiler_assume_finite_math() -> None:
    """No flag set the kernels may be built with lets the compiler drop NaN and infinity checks
    or reorder arithmetic (-ffast-math and its parts), at compile or at link time."""
    unsafe = {"-ffast-math", "-Ofast", "-ffinite-math-only", "-funsafe-math-optimizations",
              "-fassociative-math", "-freciprocal-math", "-fno-signed-zeros"}  # fmt: skip
    for extra, link in _build.FLAG_SETS:
        used = {*_build.COMPILE, *extra, *link}
        assert not used & unsafe, sorted(used & unsafe)


def test_unusable_home_cache_falls_back_to_the_temp_dir(tmp_path, monkeypatch) -> None:
    """~/.cache/rnnkit that cannot be made (here: its parent is a file): a folder of this user's
    in the temp dir serves, made with mode 0o700."""
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.delenv("RNNKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    load_library()
    folder = tmp_path / "tmp" / f"rnnkit-{os.getuid()}"
    assert list(folder.glob("rnnkit_cpu_kernels-*.so"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
