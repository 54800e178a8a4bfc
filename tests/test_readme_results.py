"""The README's results table is exactly what quality.jsonl renders to."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_renderer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "results_table", ROOT / "benchmarks" / "results_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_matches_the_recorded_results() -> None:
    renderer = load_renderer()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = renderer.with_table(readme, renderer.render(renderer.read_quality()))
    assert readme == expected, "run: python benchmarks/results_table.py"


def test_every_recorded_line_has_the_design_fields() -> None:
    renderer = load_renderer()
    fields = {"task", "dataset", "split", "metric", "value", "command", "device",
              "train_seconds", "date", "version", "notes"}  # fmt: skip
    for line in renderer.read_quality():
        assert fields <= set(line), sorted(fields - set(line))
