"""int8 inference of a trained run: the report, and evaluate / predict with --int8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve as resolve_config

SMALL = {"embedding_dim": 16, "hidden_size": 16, "min_freq": 1, "lr": 1e-2, "batch_size": 16}


@pytest.fixture
def gru_run(toy_csv: str, tmp_path: Path) -> Path:
    config = resolve_config("classify", {**SMALL, "dataset": toy_csv, "epochs": 4, "cell": "gru"})
    train(config, tmp_path / "run", progress=False)
    return tmp_path / "run"


def test_quantize_reports_accuracy_and_speed_of_both(
    gru_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quantize", str(gru_run), "--repeats", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["accuracy"]) == {"float32", "int8"}
    assert abs(result["accuracy_change_points"]) <= 5.0
    assert result["speedup"] == pytest.approx(
        result["seconds"]["float32"] / result["seconds"]["int8"]
    )
    assert json.loads((gru_run / "int8.json").read_text()) == result


def test_evaluate_and_predict_with_the_int8_model(
    gru_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    float_run, int8_run = Run.load(gru_run), Run.load(gru_run, int8=True)
    assert int8_run.model.recurrent.backend_used == "int8"
    texts = ["a brilliant and moving film", "the plot is dull and tedious"]
    got = [p["label"] for p in int8_run.predict(texts)]
    assert got == [p["label"] for p in float_run.predict(texts)]
    assert main(["evaluate", str(gru_run), "--int8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.8


def test_a_peephole_run_has_no_int8_model(
    toy_csv: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = resolve_config(
        "classify", {**SMALL, "dataset": toy_csv, "epochs": 1, "cell": "lstm", "peephole": True}
    )
    train(config, tmp_path / "run", progress=False)
    assert main(["quantize", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert "peephole=True has no int8 kernel" in err and "\n" not in err
    assert not (tmp_path / "run" / "int8.json").exists()
