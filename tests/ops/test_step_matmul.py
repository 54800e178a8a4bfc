"""The fused ops' per-step products (rnnkit.ops._step_matmul): oneDNN's packed matmul against
torch's products, which matrices take it, and every fused op running on it.

The fused ops are compared with themselves on torch's products (``RNNKIT_ONEDNN=0``), which the
other op tests check against the NumPy reference; a spy makes sure oneDNN really ran.
"""

from __future__ import annotations

import pytest
import torch

import rnnkit.ops._step_matmul as step_matmul
from rnnkit.ops._step_matmul import (
    ONEDNN_MIN_BATCH,
    ONEDNN_MIN_SIZE,
    ONEDNN_MIN_STEPS,
    StepMatmul,
    onednn_available,
    uses_onednn,
)

pytestmark = pytest.mark.skipif(
    not onednn_available(), reason="this torch build lacks the oneDNN matmul ops"
)
FP32 = {"atol": 2e-5, "rtol": 2e-5}  # two fp32 products summing in different orders


def random(*size: int, seed: int) -> torch.Tensor:
    return torch.randn(size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def onednn_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the oneDNN products run while the test lasts (one entry per call)."""
    calls: list[int] = []
    linear = step_matmul._onednn_linear

    def counted(*args: torch.Tensor | None) -> torch.Tensor:
        calls.append(1)
        return linear(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(step_matmul, "_onednn_linear", counted)
    return calls


@pytest.mark.parametrize("k, n", [(512, 2048), (2048, 512), (515, 513)])
@pytest.mark.parametrize("rows", [1, 7, 8], ids=lambda b: f"rows{b}")
def test_products_match_torch(k: int, n: int, rows: int, onednn_calls: list[int]) -> None:
    """Every kind of product, on a matrix packed for steps of 8 rows, with 8 or fewer rows (a
    step of a ragged batch), from a transposed view as the ops pass it."""
    matrix = random(n, k, seed=0).t() / k**0.5  # (k, n), not contiguous; entries as in a layer
    x, out, bias = random(rows, k, seed=1), random(rows, n, seed=2), random(n, seed=3)
    product = StepMatmul(matrix, [8] * ONEDNN_MIN_STEPS)
    assert product.packed is not None
    torch.testing.assert_close(product(x), x @ matrix, **FP32)
    torch.testing.assert_close(product(x, bias), torch.addmm(bias, x, matrix), **FP32)
    added = out.clone()
    product.add_to(added, x)
    torch.testing.assert_close(added, out + x @ matrix, **FP32)
    written = out.clone()
    product.write(written, x, bias)
    torch.testing.assert_close(written, torch.addmm(bias, x, matrix), **FP32)
    product.write(written, x)
    torch.testing.assert_close(written, x @ matrix, **FP32)
    assert len(onednn_calls) == 5


def test_which_products_take_onednn(monkeypatch: pytest.MonkeyPatch) -> None:
    size, sizes = ONEDNN_MIN_SIZE, [ONEDNN_MIN_BATCH] * ONEDNN_MIN_STEPS
    assert uses_onednn(torch.zeros(size, 4 * size), sizes)
    assert not uses_onednn(torch.zeros(size - 1, 4 * size), sizes), "too small: torch is faster"
    assert not uses_onednn(torch.zeros(4 * size, size - 1), sizes)
    assert not uses_onednn(torch.zeros(size, size), [ONEDNN_MIN_BATCH - 1] * ONEDNN_MIN_STEPS)
    assert not uses_onednn(torch.zeros(size, size), sizes[1:]), "too few steps to pay the packing"
    assert not uses_onednn(torch.zeros(size, size, dtype=torch.float64), sizes)
    trained = torch.zeros(size, size, requires_grad=True)
    assert not uses_onednn(trained, sizes), "oneDNN's op has no autograd"
    with torch.no_grad():
        assert uses_onednn(trained, sizes)
    with monkeypatch.context() as patch:
        patch.setattr(torch.backends.mkldnn, "enabled", False)  # torch's own switch for oneDNN
        assert not uses_onednn(torch.zeros(size, size), sizes)
    assert torch.backends.mkldnn.enabled
    monkeypatch.setenv("RNNKIT_ONEDNN", "0")
    assert not uses_onednn(torch.zeros(size, size), sizes)
    assert StepMatmul(torch.zeros(size, size), sizes).packed is None


VARIANTS = ["lstm", "lstm-peephole", "gru-reset_after", "gru-reset_before", "rnn-tanh", "rnn-relu"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_fused_ops_on_onednn(
    variant, fused_problem, fused_runner, assert_all, onednn_calls, monkeypatch
) -> None:
    """Small sizes with the thresholds lowered, so every product of every op runs in oneDNN on a
    ragged batch; the same op on torch's products is the reference."""
    problem = fused_problem(variant, (5, 4, 4, 1), 6, 37).to(torch.float32)
    monkeypatch.setenv("RNNKIT_ONEDNN", "0")
    want_out, want_cache, want_grads = fused_runner(variant, problem, "c")
    assert not onednn_calls
    monkeypatch.setenv("RNNKIT_ONEDNN", "1")
    for name in ("ONEDNN_MIN_SIZE", "ONEDNN_MIN_BATCH", "ONEDNN_MIN_STEPS"):
        monkeypatch.setattr(step_matmul, name, 1)
    got_out, got_cache, got_grads = fused_runner(variant, problem, "c")
    steps = len(problem.batch_sizes)
    products = steps * (2 if variant == "gru-reset_before" else 1)  # per direction
    assert len(onednn_calls) == 2 * products
    assert_all("output", want_out, got_out, **FP32)
    assert_all("cache", want_cache, got_cache, **FP32)
    assert_all("grad", want_grads, got_grads, **FP32)


def test_lstm_at_the_thresholds(fused_problem, fused_runner, assert_all, onednn_calls) -> None:
    """The peephole LSTM at the smallest hidden size, batch and length where oneDNN takes over
    unprompted (ragged: later steps have fewer rows)."""
    lengths = (ONEDNN_MIN_STEPS + 1, ONEDNN_MIN_STEPS, 20, 20, 9, 5, 2, 1)
    assert len(lengths) == ONEDNN_MIN_BATCH
    problem = fused_problem("lstm-peephole", lengths, 5, ONEDNN_MIN_SIZE).to(torch.float32)
    got_out, _, got_grads = fused_runner("lstm-peephole", problem, "c")
    assert len(onednn_calls) == 2 * len(problem.batch_sizes)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNKIT_ONEDNN", "0")
        want_out, _, want_grads = fused_runner("lstm-peephole", problem, "c")
    assert_all("output", want_out, got_out, **FP32)
    assert_all("grad", want_grads, got_grads, **FP32)


def test_probe_ignores_the_default_dtype() -> None:
    """The first-use probe runs in float32 on the CPU whatever defaults the user set, so that
    float64 defaults cannot switch oneDNN off for good (the probe's answer is cached)."""
    onednn_available.cache_clear()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert onednn_available()
    finally:
        torch.set_default_dtype(previous)
        onednn_available.cache_clear()
