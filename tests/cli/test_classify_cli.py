"""The classification commands through ``rnnkit.cli.main.main``: smoke runs, --json, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.config import field_help, setting_paths
from rnnkit.pipelines.runconfig import config_type
from rnnkit.tasks.base import get_task

SMALL = ["--embedding-dim", "8", "--hidden-size", "8", "--min-freq", "1", "--epochs", "1"]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


@pytest.fixture
def corpus(tmp_path: Path) -> str:
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows = [
        (f"good fine {i} great", "pos") if i % 2 else (f"bad poor {i} awful", "neg")
        for i in range(40)
    ]
    write_csv(folder / "train.csv", rows)
    write_csv(folder / "test.csv", rows[:10])
    return f"csv:{folder}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_train_evaluate_predict_smoke_for_every_cell(
    cell: str, corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"run-{cell}"
    argv = ["train", "classify", "--dataset", corpus, "--cell", cell, "--out", str(out)]
    assert main([*argv, *SMALL, "--no-progress", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["epochs"] == 1
    assert main(["evaluate", str(out), "--split", "test", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["split"] == "test" and evaluated["examples"] == 10
    assert main(["predict", str(out), "good great", "bad awful", "--json"]) == 0
    predicted = json.loads(capsys.readouterr().out)["predictions"]
    assert [p["text"] for p in predicted] == ["good great", "bad awful"]


def test_config_file_and_flag_precedence(corpus: str, tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(f'dataset = "{corpus}"\ncell = "gru"\nepochs = 3\n[model]\nhidden_size = 8\n')
    out = tmp_path / "run"
    argv = ["train", "classify", "--config", str(config), "--out", str(out), "--epochs", "1"]
    assert main([*argv, "--embedding-dim", "8", "--min-freq", "1", "--no-progress"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert (
        saved["model"]["encoder"]["cell"] == "gru" and saved["model"]["encoder"]["hidden_size"] == 8
    )
    assert saved["trainer"]["epochs"] == 1  # the flag wins over the file


def test_yaml_config_works(corpus: str, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"dataset: '{corpus}'\nmodel:\n  cell: rnn\n  hidden_size: 8\n")
    out = tmp_path / "run"
    argv = ["train", "classify", "--config", str(config), "--out", str(out), *SMALL]
    assert main([*argv, "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["encoder"]["cell"] == "rnn"


def assert_one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    for fragment in fragments:
        assert fragment in err, err


def test_config_typo_is_rejected_with_the_valid_keys(
    corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text(f"dataset: '{corpus}'\nhiden_size: 8\n")
    out = tmp_path / "run"
    assert main(["train", "classify", "--config", str(config), "--out", str(out)]) == 1
    assert_one_line_error(capsys, "unknown key 'hiden_size'", "valid keys:", "hidden_size")
    assert not out.exists(), "nothing may be written for a rejected config"


def test_empty_training_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "train.csv").write_text("")
    write_csv(folder / "test.csv", [("x", "a")])
    out = tmp_path / "run"
    assert main(["train", "classify", "--dataset", f"csv:{folder}", "--out", str(out)]) == 1
    assert_one_line_error(capsys, "train.csv")
    assert not out.exists()


def test_label_seen_only_in_test_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write_csv(folder / "train.csv", [("good", "pos"), ("bad", "neg")] * 10)
    write_csv(folder / "test.csv", [("meh", "neutral")])
    out = tmp_path / "run"
    assert main(["train", "classify", "--dataset", f"csv:{folder}", "--out", str(out)]) == 1
    assert_one_line_error(capsys, "neutral")
    assert not out.exists()


def test_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path)]) == 1
    assert_one_line_error(capsys, "is not an rnnkit run directory")
    assert main(["predict", str(tmp_path / "missing"), "text"]) == 1
    assert_one_line_error(capsys, "is not a run directory")


def test_non_utf8_predict_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "texts.txt"
    bad.write_bytes(b"caf\xe9\n")
    assert main(["predict", str(tmp_path), "--file", str(bad)]) == 1
    assert_one_line_error(capsys, "texts.txt", "not UTF-8")


def test_datasets_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "--json"]) == 0
    names = [d["name"] for d in json.loads(capsys.readouterr().out)["datasets"]]
    assert {"20newsgroups", "sst2", "sst5"} <= set(names)


def test_compare_prints_one_table(
    corpus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", "classify", "--dataset", corpus, "--cells", "rnn,gru", "--out", str(out)]
    assert main([*argv, *SMALL, "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "rnn" in text and "gru" in text and "test acc" in text
    assert (out / "compare.png").is_file()


@pytest.mark.parametrize(
    "command",
    [["train", "classify"], ["compare", "classify"], ["evaluate"], ["predict"], ["quantize"]],
)
def test_help_prints_and_every_config_flag_has_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    if command[-1] == "classify":
        for path, (owner, name) in setting_paths(config_type(get_task("classify"))).items():
            if name != "progress":
                assert name in field_help(owner), f"{owner.__name__}.{name} has no help comment"
                assert "--" + path.replace("_", "-") in out
