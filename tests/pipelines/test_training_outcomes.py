"""What ``rnnkit train`` says and leaves when its settings or its numbers go wrong: settings that
cannot train refused in one line before anything is written to ``--out``; a run whose numbers
stop being finite stopped naming the epoch and step; the epoch it prints as kept is the one whose
weights it kept; a kill while the checkpoint is written leaves no trace once resumed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import rnnkit.training.callbacks as callbacks
from rnnkit.cli.main import main
from rnnkit.pipelines.run import Run, train
from rnnkit.pipelines.runconfig import resolve

TINY = {"seq_len": 6, "train_size": 32, "val_size": 16, "test_size": 16, "hidden_size": 4}
FLAGS = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16",
         "--hidden-size", "4", "--no-progress", "--threads", "1"]  # fmt: skip


def metrics(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


REFUSED = [  # (flags, what the one line says)
    (["--clip-norm", "-1"], "clip_norm must be a finite number > 0 or None, got -1.0"),
    (["--clip-norm", "0"], "clip_norm must be a finite number > 0 or None, got 0.0"),
    (["--lr", "inf"], "lr must be a finite number > 0, got inf"),
    (["--lr", "nan"], "lr must be a finite number > 0, got nan"),
    (["--weight-decay", "-1"], "weight_decay must be a finite number ≥ 0, got -1.0"),
    (["--optimizer", "sgd", "--momentum", "2"], "momentum must be in [0, 1), got 2.0"),
    (
        ["--cell", "gru", "--peephole"],
        "peephole=True applies to the lstm cell only, not to gru",
    ),
    (["--cell", "lstm", "--no-reset-after"], "reset_after=False applies to the gru cell only"),
    (["--cell", "gru", "--nonlinearity", "relu"], "nonlinearity='relu' applies to the rnn"),
    (["--device", "cpu", "--bf16"], "bf16 autocast needs a CUDA device, got cpu"),
    (["--optimizer", "adamax"], "optimizer must be one of adam, adamw, sgd, ntasgd, got 'adamax'"),
    (["--schedule", "exponential"], "schedule must be one of constant, linear, cosine, onecycle"),
    (["--patience", "0"], "patience must be ≥ 1, got 0"),
    (["--monitor", "bleu"], "monitor='bleu' is not among the validation metrics (loss, mse)"),
]


@pytest.mark.parametrize(("flags", "message"), REFUSED, ids=[" ".join(f) for f, _ in REFUSED])
def test_settings_that_cannot_train_are_one_line_and_write_nothing(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "synthetic", *FLAGS, *flags, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err, err
    assert not out.exists()


def test_the_printed_kept_epoch_is_the_best_by_loss_and_its_weights_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--monitor loss``: the mode follows the metric (min), so the kept epoch is the one with
    the lowest validation loss (not epoch 1, where a max would stop), and the weights in
    model.safetensors score that epoch's loss again."""
    out = tmp_path / "run"
    flags = ["--monitor", "loss", "--epochs", "4", "--lr", "0.05", "--json", "--out", str(out)]
    assert main(["train", "synthetic", *FLAGS, *flags]) == 0
    printed = json.loads(capsys.readouterr().out)
    losses = [line["val_loss"] for line in metrics(out)]
    best = min(range(len(losses)), key=losses.__getitem__) + 1
    assert printed["best_epoch"] == best != 1, losses
    assert printed["val_loss"] == pytest.approx(losses[best - 1])
    again = Run.load(out).evaluate("val")
    assert again.metrics["mse"] == pytest.approx(losses[best - 1], rel=1e-5)


def test_numbers_that_blow_up_stop_the_run_naming_epoch_and_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A finite but absurd learning rate: the first epoch's weights give an infinite validation
    loss; nothing is kept as its best, nothing predicts with them."""
    out = tmp_path / "run"
    assert main(["train", "synthetic", *FLAGS, "--lr", "1e30", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "the validation loss became inf in epoch 1 (by step 1); no epoch had finished" in err
    assert not (out / "model.safetensors").exists() and not (out / "checkpoint.pt").exists()


def test_a_kill_while_the_checkpoint_is_written_counts_that_epoch_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed as epoch 2's checkpoint is written (its metrics line is out, a half-written
    temporary file is left): the resumed run logs, reports and times epoch 2 once, and the
    temporary file is gone."""
    out = tmp_path / "run"
    config = resolve("synthetic", {**TINY, "epochs": 3}, where="test")
    written = callbacks.save_checkpoint
    calls: list[Path] = []

    def killed_in_the_second(state: dict[str, Any], path: Path) -> Path:
        calls.append(path)
        if len(calls) == 2:
            (path.parent / f".{path.name}.x1y2z3.tmp").write_bytes(b"half a checkpoint")
            raise KeyboardInterrupt
        return written(state, path)

    monkeypatch.setattr(callbacks, "save_checkpoint", killed_in_the_second)
    with pytest.raises(KeyboardInterrupt):
        train(config, out, progress=False)
    assert [line["epoch"] for line in metrics(out)] == [1, 2]  # epoch 2 logged, not checkpointed
    monkeypatch.setattr(callbacks, "save_checkpoint", written)
    train(config, out, resume=True, progress=False)
    lines = metrics(out)
    assert [line["epoch"] for line in lines] == [1, 2, 3]
    rows = re.findall(r"^\| (\d+)(?: \(kept\))? \|", (out / "report.md").read_text(), re.M)
    assert rows == ["1", "2", "3"]
    assert Run.load(out).train_seconds() == pytest.approx(sum(line["seconds"] for line in lines))
    assert not list(out.glob(".*.tmp"))
