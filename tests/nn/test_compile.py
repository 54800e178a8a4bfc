"""torch.compile over rnnkit's fused layers: the whole-sequence op is a graph break
(``rnnkit.ops._compile.opaque_to_compile``), not a time loop for dynamo to unroll; a compiled
model matches eager, outputs and every gradient, at two sequence lengths. And importing rnnkit
does not import dynamo or triton (slow, and triton must see TRITON_INTERPRET first)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import rnnkit


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: rnnkit.LSTM(3, 4, peephole=True), id="lstm-peephole"),
        pytest.param(lambda: rnnkit.GRU(3, 4, reset_after=False), id="gru-reset-before"),
        pytest.param(lambda: rnnkit.RNN(3, 4, backend="fused"), id="rnn-fused"),
    ],
)
def test_compiled_matches_eager(make) -> None:
    torch.manual_seed(0)
    layer = make()
    assert layer.backend_used == "fused"
    compiled = torch.compile(lambda x: layer(x)[0] * 2, backend="aot_eager")
    for steps in (5, 9):
        x = torch.randn(steps, 2, 3)
        want = layer(x)[0] * 2
        want_grads = torch.autograd.grad(want.sum(), list(layer.parameters()))
        got = compiled(x)
        got_grads = torch.autograd.grad(got.sum(), list(layer.parameters()))
        torch.testing.assert_close(got, want)
        for g, w in zip(got_grads, want_grads, strict=True):
            torch.testing.assert_close(g, w)


def test_the_per_call_record_is_kept_under_torch_compile() -> None:
    """The layer records what each call ran (``last_dispatch``) from inside a compiled graph."""
    gru = rnnkit.GRU(4, 6)
    compiled = torch.compile(lambda x: gru(x)[0], backend="aot_eager")
    compiled(torch.randn(5, 3, 4)).sum().backward()
    assert gru.backend_used == "fused"
    with torch.no_grad():
        compiled(torch.randn(5, 3, 4))
    assert gru.backend_used == "native"
    assert gru.last_training_dispatch is not None
    assert gru.last_training_dispatch.backend == "fused"


def test_importing_rnnkit_leaves_dynamo_and_triton_unloaded() -> None:
    code = (
        "import sys, rnnkit, rnnkit.ops, rnnkit.nn; "
        "print(sorted(m for m in ('torch._dynamo', 'triton') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
