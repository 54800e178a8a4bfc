"""Ratios between rows of one run, and the markdown table."""

from __future__ import annotations

from typing import Any

from rnnkit.bench import add_ratios

POINT = {"dtype": "fp32", "mode": "train", "batch": 8, "hidden": 128, "steps": 256}


def row(config: str, variant: str, median_ms: float | None) -> dict[str, Any]:
    status = "ok" if median_ms is not None else "skipped"
    return {"config": config, "variant": variant, **POINT, "status": status, "median_ms": median_ms}


def test_ratios_read_against_loop_and_torchs_plain_cell() -> None:
    rows = add_ratios(
        [
            row("lstm", "native", 10.0),
            row("lstm", "loop", 40.0),
            row("lstm-peephole", "loop", 50.0),
            row("lstm-peephole", "fused", 20.0),
            row("lstm-peephole", "script-loop", None),
            row("gru-reset-before", "fused", 30.0),  # no loop, no torch GRU timed
        ]
    )
    ratios = {
        (r["config"], r["variant"]): (r["vs_loop"], r["vs_native"], r["native_ref"]) for r in rows
    }
    assert ratios[("lstm", "native")] == (4.0, 1.0, "lstm/native")
    assert ratios[("lstm", "loop")] == (1.0, 0.25, "lstm/native")
    assert ratios[("lstm-peephole", "fused")] == (2.5, 0.5, "lstm/native")
    assert ratios[("lstm-peephole", "script-loop")] == (None, None, None)
    assert ratios[("gru-reset-before", "fused")] == (None, None, None)
