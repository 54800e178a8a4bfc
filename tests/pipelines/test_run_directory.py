"""A run directory belongs to one training at a time, and a resumed run keeps its settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnnkit.cli.tasks as cli_tasks
from rnnkit.cli.main import main
from rnnkit.pipelines.run import train
from rnnkit.pipelines.runconfig import resolve

TINY = {"seq_len": 6, "train_size": 32, "val_size": 16, "test_size": 16, "hidden_size": 4}


def tiny(**changes: object) -> object:
    return resolve("synthetic", {**TINY, "epochs": 1, **changes}, where="test")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_training_holds_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "train.lock").write_text(f"{os.getppid()}\n")  # a live process that is not this one
    with pytest.raises(ValueError, match=rf"in use: process {os.getppid()} holds train\.lock"):
        train(tiny(), out, progress=False)
    assert not (out / "config.json").exists()
    with pytest.raises(ValueError, match="in use"):
        train(tiny(), out, resume=True, progress=False)


def test_a_stale_lock_is_taken_over_and_the_lock_goes_at_the_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "train.lock").write_text(f"{dead_pid()}\n")
    train(tiny(), out, progress=False)
    assert (out / "model.safetensors").is_file() and not (out / "train.lock").exists()


def test_the_lock_goes_when_training_fails(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny(), out, progress=False)
    with pytest.raises(ValueError, match="already holds a run"):
        train(tiny(), out, progress=False)
    assert not (out / "train.lock").exists()


def test_resume_applies_more_epochs_and_refuses_other_changes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny(epochs=1), out, progress=False)
    with pytest.raises(ValueError, match=r"model\.encoder\.hidden_size: the run has 4, given 8"):
        train(tiny(epochs=2, hidden_size=8), out, resume=True, progress=False)
    run = train(tiny(epochs=2), out, resume=True, progress=False)
    assert len(run.history()) == 2


def test_cli_resume_keeps_the_run_settings_and_takes_new_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    flags = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16"]
    common = ["--no-progress", "--json", "--threads", "1", "--out", str(out)]
    assert main(["train", "synthetic", *flags, "--hidden-size", "4", "--epochs", "1", *common]) == 0
    capsys.readouterr()
    assert main(["train", "synthetic", "--resume", "--epochs", "2", *common]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 2  # hidden size 4 kept, no flag
    assert main(["train", "synthetic", "--resume", "--hidden-size", "8", *common]) == 1
    assert "only trainer.device, trainer.epochs, trainer.patience, run.baseline, " in (
        capsys.readouterr().err
    )


def test_ctrl_c_is_one_line_saying_how_to_resume(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_tasks, "train", interrupted)
    code = main(["train", "synthetic", "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 130 and err.count("\n") == 1 and "--resume continues" in err
