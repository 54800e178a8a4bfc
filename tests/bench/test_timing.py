"""Interleaved timing: rotating order, warm-up rounds dropped, a failing variant reported."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rnnkit.bench import VARIANTS, Variant, make_grid, run_bench
from rnnkit.bench.timing import time_interleaved
from rnnkit.bench.variants import Runner


def test_rounds_rotate_and_warmup_is_dropped() -> None:
    calls: list[str] = []

    def runner(name: str) -> Runner:
        def run(x: Tensor) -> Tensor:
            calls.append(name)
            return x

        return Runner(run, nn.Module())

    runners = {name: runner(name) for name in "abc"}
    seconds, failed = time_interleaved(
        runners, torch.zeros(2), train=False, repeats=2, warmup=1, sync=lambda: None
    )
    assert calls == list("abc" + "bca" + "cab")
    assert failed == {} and {k: len(v) for k, v in seconds.items()} == {"a": 2, "b": 2, "c": 2}


def test_a_variant_that_cannot_run_is_skipped_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unavailable(*args: object, **kwargs: object) -> Runner:
        raise RuntimeError("no C++ compiler found\nsecond line")

    monkeypatch.setitem(VARIANTS, "compiled-loop", Variant("compiled-loop", "test", unavailable))
    grid = make_grid(
        quick=True, configs=["rnn-tanh"], modes=["forward"], variants=["loop", "compiled-loop"]
    )
    rows = run_bench(grid)["rows"]
    by_variant = {row["variant"]: row for row in rows}
    assert by_variant["loop"]["status"] == "ok"
    skipped = by_variant["compiled-loop"]
    assert skipped["status"] == "skipped" and skipped["median_ms"] is None
    assert skipped["reason"] == "RuntimeError: no C++ compiler found"
