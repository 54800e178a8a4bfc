"""``rnnkit bench`` through ``rnnkit.cli.main.main``: the quick run's files, --json, bad flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import rnnkit.ops.cpu as cpu_kernels
from rnnkit.bench import CONFIGS, VARIANTS
from rnnkit.bench.run import step_kernels, step_products
from rnnkit.cli.main import main
from rnnkit.ops.cpu._build import BuildError

POINT = ("dtype", "mode", "batch", "hidden", "steps")


def test_quick_writes_json_and_md_with_every_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--quick", "--out", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)  # one JSON object, nothing else
    json_path, md_path = (Path(p) for p in printed["files"])
    assert json_path.parent == md_path.parent == tmp_path
    assert json_path.name.endswith("-quick.json") and md_path.name.endswith("-quick.md")
    result = json.loads(json_path.read_text())
    assert result["rows"] == printed["rows"]
    for key in ("device", "device_slug", "torch", "rnnkit", "date", "command"):
        assert result[key], key
    assert result["command"] == "rnnkit bench --quick"
    assert result["step_kernels"] == "C kernels (rnnkit.ops.cpu)"  # what ran the fused ops' steps
    assert result["step_products"].startswith("oneDNN, weights packed once, from H 512")
    assert result["step_products"] in md_path.read_text()
    rows = result["rows"]
    expected = {
        (config, variant, mode)
        for config in CONFIGS
        for variant in VARIANTS
        if VARIANTS[variant].supports(CONFIGS[config])
        for mode in ("forward", "train")
    }
    assert {(r["config"], r["variant"], r["mode"]) for r in rows} == expected
    assert len(rows) == len(expected)
    for row in rows:
        if row["status"] == "ok":
            assert row["median_ms"] > 0 and row["repeats"] == 2
        else:
            assert row["status"] == "skipped" and row["reason"], row
    skipped = {r["variant"] for r in rows if r["status"] != "ok"}
    assert "compiled-loop" in skipped  # left out of --quick, with its reason
    assert_ratios_match_medians(rows)
    md = md_path.read_text()
    assert "## fp32, forward" in md and "## fp32, train" in md and "## Skipped" in md
    assert "Fused ops' step work: C kernels (rnnkit.ops.cpu)." in md
    timed_lines = [line for line in md.splitlines() if line.startswith("| ") and " ms " not in line]
    for row in rows:
        if row["status"] == "ok":
            cells = f"| {row['config']} | 4 | 32 | {row['variant']} | {row['median_ms']:.3f} |"
            assert any(line.startswith(cells) for line in timed_lines), cells


def assert_ratios_match_medians(rows: list[dict[str, Any]]) -> None:
    medians = {
        (*(r[f] for f in POINT), r["config"], r["variant"]): r["median_ms"]
        for r in rows
        if r["status"] == "ok"
    }
    for row in rows:
        if row["status"] != "ok":
            assert row["vs_loop"] is None and row["vs_native"] is None
            continue
        point = tuple(row[f] for f in POINT)
        loop = medians[(*point, row["config"], "loop")]
        assert row["vs_loop"] == pytest.approx(loop / row["median_ms"], abs=1e-3)
        reference = CONFIGS[row["config"]].reference  # torch's plain cell for peephole etc.
        native = medians[(*point, reference, "native")]
        assert row["native_ref"] == f"{reference}/native"
        assert row["vs_native"] == pytest.approx(native / row["median_ms"], abs=1e-3)
        if row["variant"] == "loop":
            assert row["vs_loop"] == 1.0


def test_text_output_names_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "--quick", "--configs", "rnn-tanh", "--modes", "forward"]
    assert main([*argv, "--variants", "loop,native", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 variant × size rows timed" in out
    assert str(tmp_path / "cpu-") in out
    assert len(list(tmp_path.glob("*-quick.json"))) == len(list(tmp_path.glob("*-quick.md"))) == 1


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--variants", "fused,warp"], "'warp'"),
        (["--hidden", "0"], "hidden must be positive integers, got 0"),
        (["--dtypes", "bf17"], "'bf17'"),
        (["--batch", "4,x"], "--batch: expected comma-separated integers"),
        (["--repeats", "many"], "--repeats: expected an integer"),
        (["--modes", "backward"], "'backward'"),
        (["--device", "tpu"], "'tpu'"),
        (["--configs", "lstm,lstm"], "repeats a value"),
    ],
)
def test_bad_flags_give_one_error_line_and_exit_1(
    flags: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--quick", *flags, "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("rnnkit bench: error: ") and fragment in err, err
    assert captured.out == ""
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--quick", "--device", "cuda"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "sees no GPU" in err, err


def test_report_says_when_the_cpu_kernels_did_not_run(monkeypatch) -> None:
    monkeypatch.setattr(cpu_kernels, "_library", lambda: BuildError("no C compiler found"))
    assert step_kernels("cpu") == "torch ops (C kernels unavailable: no C compiler found)"


def test_report_says_what_ran_the_step_products(monkeypatch) -> None:
    assert step_products("cuda") == "torch (cuBLAS)"
    monkeypatch.setenv("RNNKIT_ONEDNN", "0")
    assert step_products("cpu") == "torch (MKL; RNNKIT_ONEDNN=0)"
