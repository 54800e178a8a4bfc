"""Every registered variant computes the loop backend's function, so a benchmark never times a
wrong one: same outputs and same parameter gradients on a tiny odd-sized input (the forward-only
persistent kernel: same outputs, in tests/ops/triton/test_persistent.py)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.bench import CONFIGS, VARIANTS

T, B, H = 5, 3, 7


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_every_variant_matches_the_loop_backend(config_name: str) -> None:
    config = CONFIGS[config_name]
    torch.manual_seed(0)
    layer = config.layer(H, backend="loop", device=torch.device("cpu"), dtype=torch.float64)
    x = torch.randn(T, B, H, dtype=torch.float64)
    weights = torch.randn(T, B, H, dtype=torch.float64)  # a random upstream gradient
    results = {}
    trained = {n: v for n, v in VARIANTS.items() if v.supports(config) and not v.forward_only}
    for variant in trained.values():
        # aot_eager: torch.compile's graph capture and AOT autograd without the C++ build
        runner = variant.build(config, layer, compile_backend="aot_eager")
        out = runner.run(x)
        (out * weights).sum().backward()
        grads = {name: p.grad for name, p in runner.module.named_parameters()}
        results[variant.name] = (out.detach(), grads)
    expected_out, expected_grads = results.pop("loop")
    assert set(results) == set(trained) - {"loop"}
    for name, (out, grads) in results.items():
        assert out.shape == (T, B, H), name
        torch.testing.assert_close(out, expected_out, msg=lambda m, n=name: f"{n} output: {m}")
        assert grads.keys() == expected_grads.keys(), name
        for param, grad in grads.items():
            torch.testing.assert_close(
                grad, expected_grads[param], msg=lambda m, n=name, p=param: f"{n} {p}: {m}"
            )


def test_native_exists_only_where_torch_has_a_kernel() -> None:
    native = VARIANTS["native"]
    assert [c for c in CONFIGS if native.supports(CONFIGS[c])] == ["lstm", "gru", "rnn-tanh"]
    assert CONFIGS["lstm-peephole"].reference == "lstm"
    assert CONFIGS["gru-reset-before"].reference == "gru"


def test_persistent_exists_for_what_its_kernels_run() -> None:
    persistent = VARIANTS["persistent"]
    assert [c for c in CONFIGS if persistent.supports(CONFIGS[c])] == ["lstm", "gru"]
    assert persistent.forward_only
