"""``rnnkit demo``: a tiny smoke run through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main

TINY = ["--steps", "4", "--seq-len", "6", "--hidden-size", "4", "--batch-size", "8"]


def test_demo_smoke_prints_table_and_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", *TINY, "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert {row[0] for row in rows if row and row[-1] in ("solved", "failed")} == {
        "rnn",
        "lstm",
        "gru",
    }
    assert "0.167" in out
    assert (tmp_path / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((tmp_path / "results.json").read_text())
    assert [r["cell"] for r in report["results"]] == ["rnn", "lstm", "gru"]
    for r in report["results"]:
        assert r["curve"]["steps"][0] == 0 and r["curve"]["steps"][-1] == 4
        assert len(r["curve"]["steps"]) == len(r["curve"]["test_mse"])
        assert r["verdict"] in ("solved", "failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learning_curves.png", "results.json"]


def test_demo_runs_a_subset_of_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", *TINY, "--cells", "gru", "--out", str(tmp_path), "--no-progress"]) == 0
    report = json.loads((tmp_path / "results.json").read_text())
    assert [r["cell"] for r in report["results"]] == ["gru"]


@pytest.mark.parametrize(
    "bad", [["--cells", "lstm,tcn"], ["--cells", "gru,gru"], ["--steps", "0"], ["--seq-len", "x"]]
)
def test_demo_rejects_bad_flags(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", *bad])
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_every_demo_flag_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--seq-len", "--steps", "--hidden-size", "--batch-size", "--cells", "--seed"):
        assert flag in help_text
    assert "--out" in help_text and "--no-progress" in help_text
