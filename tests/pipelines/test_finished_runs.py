"""A finished run removes checkpoint.pt unless asked to keep it; a killed run keeps it; and
``--resume`` of a finished run trains on from the kept epoch's weights, or says there is nothing
to resume."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.cli.main import main
from rnnkit.pipelines.run import compare, train
from rnnkit.pipelines.runconfig import resolve
from rnnkit.training import Callback
from rnnkit.training.trainer import Trainer

TINY = {"seq_len": 6, "train_size": 32, "val_size": 16, "test_size": 16, "hidden_size": 4}
SMALL = {"embedding_dim": 16, "hidden_size": 16, "min_freq": 1, "lr": 1e-2, "batch_size": 16}


def tiny(**changes: object) -> Any:
    return resolve("synthetic", {**TINY, "epochs": 2, **changes}, where="test")


def metrics(folder: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


class KillAfter(Callback):
    """Raises KeyboardInterrupt once epoch ``epoch`` (1-based) is checkpointed."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        assert trainer.run_dir is not None
        if epoch + 1 == self.epoch and (trainer.run_dir / "checkpoint.pt").is_file():
            raise KeyboardInterrupt


def test_a_finished_run_removes_its_checkpoint_unless_asked(tmp_path: Path) -> None:
    train(tiny(), tmp_path / "plain", progress=False)
    assert (tmp_path / "plain" / "model.safetensors").is_file()
    assert not (tmp_path / "plain" / "checkpoint.pt").exists()
    train(tiny(keep_checkpoint=True), tmp_path / "kept", progress=False)
    assert (tmp_path / "kept" / "checkpoint.pt").is_file()


def test_keep_checkpoint_is_a_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--seq-len", "6", "--train-size", "32", "--val-size", "16", "--test-size", "16",
             "--hidden-size", "4", "--epochs", "1", "--no-progress", "--threads", "1"]  # fmt: skip
    kept = ["--keep-checkpoint", "--out", str(tmp_path / "k")]
    assert main(["train", "synthetic", *flags, *kept]) == 0
    assert (tmp_path / "k" / "checkpoint.pt").is_file()
    assert json.loads((tmp_path / "k" / "config.json").read_text())["run"]["keep_checkpoint"]
    assert main(["train", "synthetic", *flags, "--out", str(tmp_path / "r")]) == 0
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_a_killed_run_keeps_its_checkpoint_and_resumes_to_the_same_weights(
    tmp_path: Path,
) -> None:
    whole = train(tiny(epochs=3), tmp_path / "whole", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(epochs=3), tmp_path / "cut", progress=False, callbacks=[KillAfter(2)])
    assert (tmp_path / "cut" / "checkpoint.pt").is_file()  # resume needs it
    resumed = train(tiny(epochs=3), tmp_path / "cut", resume=True, progress=False)
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()  # finished now
    for name, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)


def test_the_stages_checkpoints_go_too(toy_csv: str, tmp_path: Path) -> None:
    pretrain = {"pretrain": {"lm_epochs": 1, "lm_len": 5, "lm_batch_size": 16}}
    config = resolve("classify", {**SMALL, "dataset": toy_csv, "epochs": 1}, pretrain)
    train(config, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "pretrain" / "model.safetensors").is_file()
    assert not list((tmp_path / "run").rglob("checkpoint.pt"))


def test_resume_of_a_finished_run_with_no_more_epochs_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    train(tiny(epochs=1), out, progress=False)
    before = (out / "metrics.jsonl").read_text()
    with pytest.raises(ValueError) as raised:
        train(tiny(epochs=1), out, resume=True, progress=False)
    message = str(raised.value)
    assert message.startswith(f"--resume: {out} finished after 1 epoch (kept epoch 1); nothing")
    assert "Give --epochs above 1 to train on from the kept epoch's weights" in message
    assert "--keep-checkpoint" in message and "\n" not in message
    assert (out / "metrics.jsonl").read_text() == before
    assert main(["train", "synthetic", "--resume", "--no-progress", "--out", str(out)]) == 1
    assert "nothing to resume" in capsys.readouterr().err


def test_resume_with_more_epochs_trains_on_from_the_kept_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    first = train(tiny(epochs=2), out, progress=False)
    kept_weights = load_file(out / "model.safetensors")
    before = metrics(out)
    capsys.readouterr()
    seen: dict[str, Any] = {}

    class Start(Callback):  # what the model holds as the new epochs begin
        def on_fit_start(self, trainer: Trainer) -> None:
            seen["weights"] = {k: v.clone() for k, v in trainer.model.state_dict().items()}
            seen["state"] = replace(trainer.state)

    run = train(tiny(epochs=4), out, resume=True, progress=False, callbacks=[Start()])
    err = capsys.readouterr().err
    kept = first.kept_epoch()
    assert f"training on from its kept epoch {kept} (model.safetensors) to epoch 4" in err
    assert "fresh optimizer state" in err
    for name, value in kept_weights.items():
        torch.testing.assert_close(seen["weights"][name], value, rtol=0, atol=0)
    assert seen["state"].epoch == kept and seen["state"].best_epoch == kept - 1
    assert seen["state"].best == before[kept - 1]["val_mse"]
    after = metrics(out)
    assert [h["epoch"] for h in after] == [1, 2, 3, 4]
    assert after[:kept] == before[:kept]  # the kept epoch's lineage stays as it was
    assert run.fit is not None and len(run.fit.history) == 4
    assert not (out / "checkpoint.pt").exists()


def test_training_on_from_an_earlier_kept_epoch_trains_the_later_ones_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    train(tiny(epochs=3), out, progress=False)
    lines = metrics(out)
    lines[0]["val_mse"] = 1e-9  # as if epoch 1 had been the best (model.safetensors aside)
    (out / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in lines))
    capsys.readouterr()
    train(tiny(epochs=4), out, resume=True, progress=False)
    assert "kept epoch 1 (model.safetensors) to epoch 4" in capsys.readouterr().err
    after = metrics(out)
    assert [h["epoch"] for h in after] == [1, 2, 3, 4] and after[0] == lines[0]
    assert after[1]["train_loss"] != lines[1]["train_loss"]  # epoch 2 again, from epoch 1


def test_an_early_stopped_run_needs_more_patience_to_train_on(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny(epochs=3), out, progress=False)
    lines = metrics(out)
    for h, value in zip(lines, (0.5, 0.3, 0.4), strict=True):
        h["val_mse"] = value  # kept epoch 2, then one epoch without a better one
    (out / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in lines))
    with pytest.raises(ValueError, match=r"stopped early after epoch 3 \(1 epoch without a better "
                       r"validation mse, patience 1\).*Give --patience above 1"):  # fmt: skip
        train(tiny(epochs=6, patience=1), out, resume=True, progress=False)
    run = train(tiny(epochs=6, patience=3), out, resume=True, progress=False)
    assert run.fit is not None and run.fit.history[:2] == lines[:2]
    assert len(run.fit.history) >= 3


@pytest.mark.parametrize(
    "schedule",
    [{"schedule": "step", "lr": 1.0, "lr_decay": 0.5, "decay_after": 1, "optimizer": "sgd"},
     {"schedule": "cosine", "warmup": 0.2}],
)  # fmt: skip
def test_the_learning_rate_goes_on_from_the_kept_epoch(
    schedule: dict[str, object], tmp_path: Path
) -> None:
    whole = train(tiny(epochs=4, **schedule), tmp_path / "whole", progress=False)
    train(tiny(epochs=2, **schedule), tmp_path / "on", progress=False)
    lines = metrics(tmp_path / "on")
    for h in lines:
        h["val_mse"] = 1.0 / h["epoch"]  # the last epoch is the kept one
    (tmp_path / "on" / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in lines))
    on = train(tiny(epochs=4, **schedule), tmp_path / "on", resume=True, progress=False)
    assert on.fit is not None and whole.fit is not None
    expected = [h["lr"] for h in whole.fit.history[2:]]
    assert [h["lr"] for h in on.fit.history[2:]] == pytest.approx(expected, rel=1e-9)


def test_compare_again_loads_the_finished_cells(toy_csv: str, tmp_path: Path) -> None:
    config = resolve("classify", {**SMALL, "dataset": toy_csv, "epochs": 1, "baseline": "none"})
    first = compare(config, ["gru"], tmp_path / "cmp", progress=False)
    written = (tmp_path / "cmp" / "gru" / "metrics.jsonl").read_text()
    again = compare(config, ["gru"], tmp_path / "cmp", progress=False)
    assert (tmp_path / "cmp" / "gru" / "metrics.jsonl").read_text() == written  # not retrained
    assert again[0]["val_accuracy"] == first[0]["val_accuracy"]
    assert again[0]["kept_epoch"] == first[0]["kept_epoch"] == 1
