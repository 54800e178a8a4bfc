"""``rnnkit tune <task>`` through the command line: the summary and ``--json``, progress on
stderr, a second task (the tagger on a slice), Ctrl-C, and bad input as one clear line each."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from tuning_helpers import write_search

import rnnkit.tuning.search as search_module
from rnnkit.cli.main import main
from rnnkit.pipelines.run import train as real_train
from rnnkit.tasks.base import available_tasks


def tune_cli(config: Path, out: Path, *extra: str) -> int:
    return main(["tune", "synthetic", "--config", str(config), "--out", str(out),
                 "--threads", "1", *extra])  # fmt: skip


def test_tune_prints_a_summary_or_json_and_progress_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_search(tmp_path)
    assert tune_cli(config, tmp_path / "out", "--sampler", "grid", "--trials", "2", "--folds",
                    "2", "--json", "--epochs", "1") == 0  # fmt: skip
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["trials"] == {"complete": 2} and result["budget"] == 2
    assert result["direction"] == "minimize" and result["monitor"] == "mse"
    assert len(result["best"]["scores"]) == 2
    assert Path(result["files"]["best"]).name == "best.toml"
    err = captured.err.splitlines()
    assert err[0].startswith("tune: study 'out' in sqlite:///") and "2 folds" in err[0]
    assert sum(" fold 1/2: val mse " in line for line in err) == 2
    assert sum(line.startswith("trial ") and "over 2 folds" in line for line in err) == 2
    assert "epoch 1/" not in captured.err  # no progress bars
    # --epochs (a training flag) reached the trials; resume with a larger budget: text summary
    assert json.loads((tmp_path / "out/trials/0000/fold-1/config.json").read_text())[
        "trainer"]["epochs"] == 1  # fmt: skip
    assert tune_cli(config, tmp_path / "out", "--sampler", "grid", "--trials", "3", "--folds",
                    "2", "--epochs", "1", "--resume") == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("3 complete (budget 3)")
    assert out[1].startswith("best: trial ") and "over 2 folds" in out[1]
    assert out[-1].startswith("next: rnnkit train synthetic --config ")


def write_columns(folder: Path) -> str:
    """A tiny tagging corpus: CoNLL-style column files."""
    folder.mkdir()
    rng = random.Random(0)
    names, places = ["Anna", "Bob", "Carl"], ["Paris", "Rome"]
    for name, n in (("train", 24), ("val", 6), ("test", 6)):
        lines = []
        for _ in range(n):
            lines += [f"{rng.choice(names)} B-PER", "visited O", f"{rng.choice(places)} B-LOC",
                      ". O", ""]  # fmt: skip
        (folder / f"{name}.txt").write_text("\n".join(lines), encoding="utf-8")
    return f"columns:{folder}"


def test_the_tagger_is_tuned_by_the_same_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_columns(tmp_path / "columns")
    settings = f"""[data]\ndataset = "{data}"\n\n[model]\nword_dim = 8\nchar_dim = 4
char_hidden = 4\n\n[trainer]\nepochs = 1\n"""
    config = write_search(tmp_path, '[tune]\n"model.encoder.hidden_size" = [4, 8]\n',
                          settings=settings)  # fmt: skip
    args = ["tune", "tag", "--config", str(config), "--out", str(tmp_path / "out"), "--sampler",
            "grid", "--folds", "2", "--json", "--threads", "1"]  # fmt: skip
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["trials"] == {"complete": 2} and result["monitor"] == "f1"
    assert result["direction"] == "maximize"


def test_every_task_has_a_tune_command(capsys: pytest.CaptureFixture[str]) -> None:
    for task in available_tasks():
        with pytest.raises(SystemExit):
            main(["tune", task.name, "--help"])
        text = capsys.readouterr().out
        assert "--folds K" in text and "--trainer.seed" in text and "--storage URL" in text


def test_ctrl_c_is_one_line_saying_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(search_module, "train", interrupted)
    assert tune_cli(write_search(tmp_path), tmp_path / "out", "--sampler", "grid") == 130
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("rnnkit tune: interrupted after 1 of 4 trials; the results so far "
                           f"are in {tmp_path / 'out'}; the same command with --resume "
                           "continues (study 'out' in sqlite:///")  # fmt: skip


def one_line_error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnkit tune: error: "), captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            '"model.encoder.hiden_size" = [2]',
            "[tune] unknown key 'model.encoder.hiden_size'; valid keys: data.seq_len, ",
        ),
        (
            '"model.encoder.hidden_size" = []',
            "[tune] model.encoder.hidden_size: the list of values to choose from is empty",
        ),
        (
            '"trainer.lr" = {low = 0.1, high = 0.001}',
            "[tune] trainer.lr: low 0.1 is above high 0.001",
        ),
    ],
)
def test_a_bad_search_space_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: str, expected: str
) -> None:
    config = write_search(tmp_path, f"[tune]\n{section}\n")
    line = one_line_error(capsys, ["tune", "synthetic", "--config", str(config), "--out",
                                   str(tmp_path / "out")])  # fmt: skip
    assert line == f"rnnkit tune: error: {config}: {expected}" or expected in line
    assert not (tmp_path / "out").exists()  # nothing written


def test_folds_1_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["tune", "synthetic", "--config", str(write_search(tmp_path)),
                                   "--out", str(tmp_path / "out"), "--folds", "1"])  # fmt: skip
    assert line == (
        "rnnkit tune: error: --folds must be ≥ 2 (K-fold cross-validation), got 1; leave "
        "it out to score each trial on the task's validation split"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://tuner:secret@127.0.0.1:1/study",
            "--storage postgresql://tuner:***@127.0.0.1:1/study: cannot open it: ",
        ),
        ("sqlite:////no/such/folder/study.db", "cannot open it: unable to open database file"),
        ("nonsense", "--storage nonsense: cannot open it: Could not parse SQLAlchemy URL"),
    ],
)
def test_a_storage_that_cannot_be_opened_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, expected: str
) -> None:
    line = one_line_error(capsys, ["tune", "synthetic", "--config", str(write_search(tmp_path)),
                                   "--out", str(tmp_path / "out"), "--storage", url])  # fmt: skip
    assert expected in line and "secret" not in line
    assert not (tmp_path / "out").exists()  # nothing written


def test_without_optuna_is_one_line_saying_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna fails
    line = one_line_error(capsys, ["tune", "synthetic", "--config", str(write_search(tmp_path)),
                                   "--out", str(tmp_path / "out")])  # fmt: skip
    assert line == "rnnkit tune: error: rnnkit tune needs Optuna: pip install 'rnnkit[tune]'"


def test_a_grid_over_a_continuous_range_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_search(tmp_path, '[tune]\n"trainer.lr" = {low = 0.001, high = 0.1}\n')
    line = one_line_error(capsys, ["tune", "synthetic", "--config", str(config), "--out",
                                   str(tmp_path / "out"), "--sampler", "grid"])  # fmt: skip
    assert "trainer.lr is a continuous range (give it a step, or use --sampler random" in line
