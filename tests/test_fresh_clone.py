"""What a fresh clone needs to be green on any machine, and to explain itself where it is red: the
tools ``make test`` runs are pinned, and the CPU model is named in the test header, in every
benchmark record and in the quality record."""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from pathlib import Path

import pytest
import torch

import rnnkit.pipelines.run as run_module
from rnnkit._machine import cpu_model
from rnnkit.bench.device import device_description

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the project's venv runs 3.11
    import tomli as tomllib


def dev_requirements() -> dict[str, str]:
    """``name -> requirement`` of pyproject.toml's dev extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = project["optional-dependencies"]["dev"]
    return {re.split(r"[=<>!~;\[ ]", line, maxsplit=1)[0].lower(): line for line in listed}


@pytest.mark.parametrize("tool", ["pytest", "ruff", "mypy"])
def test_what_make_test_runs_is_pinned_and_installed_at_the_pin(tool: str) -> None:
    requirement = dev_requirements()[tool]
    pinned = re.fullmatch(rf"{tool}==(\d+(\.\d+)*)", requirement)
    assert pinned, f"pyproject.toml: {requirement!r} is not pinned with =="
    assert importlib.metadata.version(tool) == pinned.group(1), "the venv runs another version"


def test_the_cpu_model_is_the_one_proc_cpuinfo_names() -> None:
    model = cpu_model()
    assert model and model != "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():  # Linux: its first "model name" line
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        assert not names or model == names[0].strip()


def test_the_test_header_names_the_cpu(pytestconfig: pytest.Config) -> None:
    answers = pytestconfig.hook.pytest_report_header(config=pytestconfig, start_path=ROOT)
    lines = [line for a in answers for line in ([a] if isinstance(a, str) else a)]
    assert any(cpu_model() in line and f"{os.cpu_count()} cores" in line for line in lines)


def test_benchmark_and_quality_records_name_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cpu_model() in device_description("cpu")  # rnnkit bench's JSON and Markdown files
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run_module.device_name() == f"cpu {os.cpu_count()}-core ({cpu_model()})"


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py")))
def test_every_benchmark_script_records_the_cpu_model(script: str) -> None:
    text = (ROOT / "benchmarks" / script).read_text(encoding="utf-8")
    sources = ("from rnnkit._machine import cpu_model", "from rnnkit.bench.device import")
    assert any(source in text for source in sources), f"{script} does not name the CPU model"
