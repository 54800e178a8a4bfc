"""Render ``benchmarks/results/quality.jsonl`` as the README's results table.

    python benchmarks/results_table.py          # rewrite the table in README.md
    python benchmarks/results_table.py --check  # exit 1 if README.md's table is stale

The table sits between the ``<!-- results:start -->`` and ``<!-- results:end -->`` markers; it is
never typed by hand, so the README and the recorded figures cannot disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUALITY = ROOT / "benchmarks" / "results" / "quality.jsonl"
README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def render(lines: list[dict[str, object]]) -> str:
    """One row per recorded figure, in the order recorded."""
    rows = [
        "| task | dataset | split | metric | value | device | train s | date | how |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in lines:
        how = str(r.get("notes") or r["command"]).replace("|", "\\|")
        rows.append(
            f"| {r['task']} | {r['dataset']} | {r['split']} | {r['metric']} | {r['value']} | "
            f"{r['device']} | {r['train_seconds']} | {r['date']} | {how} |"
        )
    return "\n".join(rows)


def read_quality(path: Path = QUALITY) -> list[dict[str, object]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that README is current")
    args = parser.parse_args()
    readme = README.read_text(encoding="utf-8")
    updated = with_table(readme, render(read_quality()))
    if args.check:
        if updated != readme:
            print("README.md's results table is stale: run python benchmarks/results_table.py")
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
