"""Ensembles of runs: the mean of the members' probabilities, members that fit together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.pipelines.ensemble import evaluate_ensemble
from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve as resolve_config
from rnnkit.tasks.classify import probabilities
from rnnkit.tasks.text_data import load_dataset

SMALL = {"embedding_dim": 16, "hidden_size": 16, "min_freq": 1, "lr": 1e-2, "batch_size": 16}


@pytest.fixture
def two_runs(toy_csv: str, tmp_path: Path) -> list[Path]:
    paths = []
    for seed, cell in ((0, "gru"), (1, "lstm")):
        config = resolve_config(
            "classify",
            {
                **SMALL,
                "dataset": toy_csv,
                "epochs": 2,
                "cell": cell,
                "seed": seed,
                "split_seed": seed,
            },
        )
        train(config, tmp_path / cell, progress=False)
        paths.append(tmp_path / cell)
    return paths


def test_the_ensemble_scores_the_mean_of_the_members_probabilities(
    two_runs: list[Path], tmp_path: Path
) -> None:
    runs = [Run.load(path) for path in two_runs]
    result = evaluate_ensemble(runs, "test", tmp_path / "ens")
    examples = load_dataset(runs[0].config.data).test
    texts = [e.text for e in examples]
    mean = (probabilities(runs[0], texts) + probabilities(runs[1], texts)) / 2
    truth = np.array([runs[0].labels.index(e.label) for e in examples])
    assert result.metrics["accuracy"] == pytest.approx(float((mean.argmax(1) == truth).mean()))
    single = runs[0].predict([examples[0].text])[0]["probabilities"]
    assert probabilities(runs[0], texts[:1])[0] == pytest.approx(list(single.values()))
    saved = json.loads((tmp_path / "ens" / "eval-test.json").read_text())
    assert saved["members"] == [str(p) for p in two_runs]
    assert (tmp_path / "ens" / "confusion-test.png").is_file()


def test_the_cli_evaluates_several_runs_into_out_and_records(
    two_runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [str(p) for p in two_runs]
    assert main(["evaluate", *runs]) == 1
    assert "needs --out FOLDER" in capsys.readouterr().err
    log = tmp_path / "quality.jsonl"
    args = ["evaluate", *runs, "--out", str(tmp_path / "e"), "--record", str(log), "--json"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["value"] == pytest.approx(100 * printed["accuracy"], abs=0.01)
    seconds = sum(Run.load(p).train_seconds() for p in two_runs)
    assert lines[0]["train_seconds"] == pytest.approx(seconds, abs=0.1)


def test_members_that_do_not_fit_together_are_one_clear_error(
    two_runs: list[Path], toy_csv: str, tmp_path: Path
) -> None:
    runs = [Run.load(path) for path in two_runs]
    with pytest.raises(ValueError, match="hold out different validation texts"):
        evaluate_ensemble(runs, "val", tmp_path / "e")
    with pytest.raises(ValueError, match="needs at least 2 runs"):
        evaluate_ensemble(runs[:1], "test", tmp_path / "e")
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "train.csv").write_text("text,label\n" + "a b,x\nc d,y\n" * 10)
    (folder / "test.csv").write_text("text,label\na b,x\n")
    config = resolve_config("classify", {**SMALL, "dataset": f"csv:{folder}", "epochs": 1})
    other = train(config, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="has dataset"):
        evaluate_ensemble([runs[0], other], "test", tmp_path / "e")
