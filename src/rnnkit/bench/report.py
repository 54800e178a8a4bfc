"""Benchmark results: ratios between rows of the same run, the markdown table, the files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit._io import atomic_write_text
from rnnkit.bench.configs import CONFIGS
from rnnkit.bench.variants import VARIANTS

Row = dict[str, Any]  # one variant × configuration × grid point; see ``run.bench_point``
POINT_FIELDS = ("dtype", "mode", "batch", "hidden", "steps")


def add_ratios(rows: Sequence[Row]) -> list[Row]:
    """Each row with ``vs_loop`` (loop's median / this median: × faster than rnnkit's loop) and
    ``vs_native`` (torch's layer's median / this median, torch's plain cell for the variants it
    lacks; ``native_ref`` names that row), None where the baseline was not timed."""
    medians = {
        (*(row[f] for f in POINT_FIELDS), row["config"], row["variant"]): row["median_ms"]
        for row in rows
        if row["status"] == "ok"
    }
    result = []
    for row in rows:
        point = tuple(row[f] for f in POINT_FIELDS)
        reference = CONFIGS[row["config"]].reference
        loop = medians.get((*point, row["config"], "loop"))
        native = medians.get((*point, reference, "native"))
        median = row["median_ms"]
        timed = row["status"] == "ok" and median > 0
        result.append(
            {
                **row,
                "vs_loop": round(loop / median, 3) if timed and loop else None,
                "vs_native": round(native / median, 3) if timed and native else None,
                "native_ref": f"{reference}/native" if timed and native else None,
            }
        )
    return result


def markdown(result: dict[str, Any]) -> str:
    """The report as markdown: what was measured, one table per dtype × mode, the skips."""
    grid = result["grid"]
    lines = [
        f"# rnnkit bench: {result['device']}",
        "",
        f"{result['date']}, rnnkit {result['rnnkit']}, torch {result['torch']}. "
        f"Command: `{result['command']}`."
        + (f" Fused ops' step work: {result['step_kernels']}." if "step_kernels" in result else "")
        + (
            f" Their step products: {result['step_products']}." if "step_products" in result else ""
        ),
        "",
        f"One layer, input size = hidden size H, T = {grid['steps']} steps, sequence-first. "
        f"Each time is the median of {_count(grid['repeats'], 'round')} (after "
        f"{_count(grid['warmup'], 'warm-up round')}) in which every variant ran once, in an "
        "order rotated each round. `forward`: "
        "inference under `torch.no_grad`; `train`: forward + backward of `output.sum()` (the "
        "input needs no gradient; parameter gradients are cleared between rounds). "
        "`× loop` = loop's time / this time; `× torch` = torch's layer's time / this time "
        "(> 1: faster than torch); the peephole LSTM and the reset-before GRU, which torch "
        "lacks, are read against torch's plain LSTM / GRU of the same size.",
        "",
        *(f"- `{name}`: {text}" for name, text in result["variants"].items()),
    ]
    timed = [row for row in result["rows"] if row["status"] == "ok"]
    config_order, variant_order = list(CONFIGS), list(VARIANTS)
    for dtype in grid["dtypes"]:
        for mode in grid["modes"]:
            section = sorted(
                (r for r in timed if r["dtype"] == dtype and r["mode"] == mode),
                key=lambda r: (
                    config_order.index(r["config"]), r["hidden"], r["batch"],
                    variant_order.index(r["variant"]),
                ),
            )  # fmt: skip
            if not section:
                continue
            lines += [
                "",
                f"## {dtype}, {mode}",
                "",
                "| config | B | H | variant | ms | × loop | × torch |",
                "|---|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {r['config']} | {r['batch']} | {r['hidden']} | {r['variant']} | "
                f"{r['median_ms']:.3f} | {_ratio(r['vs_loop'])} | {_ratio(r['vs_native'])} |"
                for r in section
            ]
    lines += _skipped_lines(result["rows"])
    return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}×"


def _skipped_lines(rows: Sequence[Row]) -> list[str]:
    """One table line per (variant, reason) of the skipped rows: where it happened, how often."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row["status"] != "ok":
            groups.setdefault((row["variant"], row["reason"]), []).append(row)
    if not groups:
        return []
    lines = [
        "",
        "## Skipped",
        "",
        "| variant | configs | dtypes | modes | rows | reason |",
        "|---|---|---|---|---|---|",
    ]
    for (variant, reason), group in groups.items():
        configs, dtypes, modes = (
            ", ".join(dict.fromkeys(row[field] for row in group))
            for field in ("config", "dtype", "mode")
        )
        lines.append(f"| {variant} | {configs} | {dtypes} | {modes} | {len(group)} | {reason} |")
    return lines


def results_stem(result: dict[str, Any]) -> str:
    """The file name stem: the device slug, ``-quick`` for a smoke run."""
    return str(result["device_slug"]) + ("-quick" if result["grid"]["smoke"] else "")


def write_results(result: dict[str, Any], folder: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.json`` (everything) and ``<stem>.md`` (the tables) into ``folder``
    atomically; return their paths."""
    stem = Path(folder) / results_stem(result)
    json_path = atomic_write_text(stem.with_suffix(".json"), json.dumps(result, indent=1) + "\n")
    md_path = atomic_write_text(stem.with_suffix(".md"), markdown(result))
    return json_path, md_path
