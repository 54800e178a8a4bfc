"""The persistent forward kernels against the fused ops' torch forward, in Triton's interpreter.

The interpreter runs a launch's programs one after another, so the barrier between steps can
only be crossed by a single program: the recurrence is tested with one program owning all of H,
the split of H over several programs on single-step batches.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rnnkit.bench import CONFIGS, VARIANTS
from rnnkit.ops import gru_forward, lstm_forward

pytest.importorskip("triton")

from rnnkit.ops.triton.persistent import gru_persistent, lstm_persistent

TOL = {"atol": 2e-5, "rtol": 2e-5}
CASES = {  # (lengths, input size, hidden size, units per program)
    "ragged-T4-B3-H5-one_program": ((4, 3, 2), 4, 5, None),
    "dense-T3-B3-H7-one_program": ((3, 3, 3), 3, 7, None),
    "T1-B3-H7-four_programs": ((1, 1, 1), 3, 7, 2),
    "T1-B2-H5-five_programs": ((1, 1), 4, 5, 1),
}


def lstm_pair(inputs: dict[str, Any], batch_sizes: list[int], units: int | None) -> tuple:
    args = [inputs[k] for k in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")]
    want, _ = lstm_forward(*args, None, batch_sizes, step_impl="torch")
    return want, lstm_persistent(*args, batch_sizes, units_per_program=units)


def gru_pair(inputs: dict[str, Any], batch_sizes: list[int], units: int | None) -> tuple:
    args = [inputs[k] for k in ("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh")]
    want, _ = gru_forward(*args, batch_sizes, step_impl="torch")
    return want, gru_persistent(*args, batch_sizes, units_per_program=units)


FAMILIES = {"lstm": (lstm_pair, {"gates": 4, "cell": True}), "gru": (gru_pair, {"gates": 3})}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_matches_torch_forward(family, case, bias, problem_maker, shape_type, assert_all) -> None:
    lengths, n_in, hidden, units = CASES[case]
    pair, options = FAMILIES[family]
    problem = problem_maker(shape_type(lengths, n_in, hidden), bias=bias, **options)
    problem = problem.to(torch.float32)
    want, got = pair(problem.inputs, problem.batch_sizes, units)
    names = ("out", "h_n", "c_n")[: len(want)]
    assert_all("output", dict(zip(names, want, strict=True)), dict(zip(names, got, strict=True)),
               **TOL)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dtype": torch.float64}, "float32 only"),
        ({"hidden": 513}, "hidden size at most 512"),
        ({"units": 3}, "must be a power of 2"),
        ({"units": 0}, "must be a power of 2"),
        ({"units": 2}, "wait forever at the barrier"),  # 3 programs, 2 steps
    ],
)
def test_refuses_what_it_cannot_run(change, message) -> None:
    H = change.get("hidden", 5)
    dtype = change.get("dtype", torch.float32)
    x, h0 = torch.zeros(5, 2, dtype=dtype), torch.zeros(3, H, dtype=dtype)
    w_ih, w_hh = torch.zeros(3 * H, 2, dtype=dtype), torch.zeros(3 * H, H, dtype=dtype)
    with pytest.raises(ValueError, match=message):
        gru_persistent(x, h0, w_ih, w_hh, None, None, [3, 2], units_per_program=change.get("units"))


@pytest.mark.parametrize("config_name", ["lstm", "gru"])
def test_bench_variant_matches_the_loop_backend(config_name) -> None:
    """``rnnkit bench``'s persistent variant computes what the loop backend computes."""
    config = CONFIGS[config_name]
    torch.manual_seed(0)
    layer = config.layer(7, backend="loop", device=torch.device("cpu"), dtype=torch.float32)
    x = torch.randn(5, 3, 7)  # (T, B, H)
    runner = VARIANTS["persistent"].build(config, layer, compile_backend="eager")
    with torch.no_grad():
        want = layer(x)[0]
        got = runner.run(x)
    torch.testing.assert_close(got, want, **TOL)
