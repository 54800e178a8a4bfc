"""Trainer: it trains, writes its run, resumes to identical weights, stops early, checks config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from rnnkit.training import Callback, Trainer, TrainerConfig, load_checkpoint


def fit(toy: Any, run_dir: Path | None, epochs: int = 3, **options: Any) -> Trainer:
    model = toy.make_model(cell=options.pop("cell", "lstm"))
    options.setdefault("monitor", "accuracy")
    config = TrainerConfig(epochs=epochs, lr=1e-2, progress=False, **options)
    trainer = Trainer(model, config, run_dir=run_dir)
    trainer.fit(toy.EpochLoader(toy.make_batches(12, seed=1)), toy.make_batches(4, seed=2))
    return trainer


def test_fit_learns_and_writes_its_run(toy: Any, tmp_path: Path) -> None:
    trainer = fit(toy, tmp_path, epochs=4, schedule="onecycle", warmup=0.2)
    history = trainer.state.history
    assert len(history) == 4
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]
    assert {"train_loss", "val_loss", "val_accuracy", "val_macro_f1", "lr", "seconds"} <= set(
        json.loads(lines[0])
    )
    assert (tmp_path / "model.safetensors").is_file()
    saved = load_checkpoint(tmp_path / "checkpoint.pt")
    assert saved["train_state"]["epoch"] == 4
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"


def test_best_weights_are_restored(toy: Any, tmp_path: Path) -> None:
    trainer = fit(toy, tmp_path, epochs=3)
    best_epoch = trainer.state.best_epoch
    assert best_epoch is not None
    best = max(h["val_accuracy"] for h in trainer.state.history)
    assert trainer.state.history[best_epoch]["val_accuracy"] == best
    again = trainer.model.evaluate(toy.make_batches(4, seed=2))
    assert again["accuracy"] == pytest.approx(best)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_resume_after_a_kill_gives_the_same_weights(toy: Any, tmp_path: Path, cell: str) -> None:
    options = {"schedule": "cosine", "warmup": 0.1, "epochs": 4, "lr": 1e-2, "progress": False}
    train, val = toy.make_batches(12, seed=1), toy.make_batches(4, seed=2)

    def new_trainer(run_dir: Path, callbacks: list[Callback]) -> Trainer:
        model = toy.make_model(cell=cell, dropout=0.3)
        return Trainer(model, TrainerConfig(**options), run_dir=run_dir, callbacks=callbacks)

    whole = new_trainer(tmp_path / "whole", [])
    whole.fit(toy.EpochLoader(train), val)
    killed = new_trainer(tmp_path / "killed", [toy.Interrupt(epoch=2)])
    with pytest.raises(KeyboardInterrupt):
        killed.fit(toy.EpochLoader(train), val)
    assert load_checkpoint(tmp_path / "killed" / "checkpoint.pt")["train_state"]["epoch"] == 2
    resumed = new_trainer(tmp_path / "killed", [])
    resumed.fit(toy.EpochLoader(train), val, resume=True)
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert [h["train_loss"] for h in whole.state.history] == [
        h["train_loss"] for h in resumed.state.history
    ]


def test_an_epoch_logged_before_a_kill_is_not_logged_twice(toy: Any, tmp_path: Path) -> None:
    train, val = toy.make_batches(12, seed=1), toy.make_batches(4, seed=2)
    config = TrainerConfig(epochs=4, lr=1e-2, progress=False)
    killed = Trainer(toy.make_model(), config, run_dir=tmp_path, callbacks=[toy.Interrupt(epoch=2)])
    with pytest.raises(KeyboardInterrupt):
        killed.fit(toy.EpochLoader(train), val)
    with (tmp_path / "metrics.jsonl").open("a") as log:  # epoch 3 logged, its checkpoint not
        log.write(json.dumps({"epoch": 3, "train_loss": 9.9}) + "\n")
    Trainer(toy.make_model(), config, run_dir=tmp_path).fit(
        toy.EpochLoader(train), val, resume=True
    )
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2, 3, 4]
    assert lines[2]["train_loss"] != 9.9


def test_early_stopping_stops_after_patience(toy: Any, tmp_path: Path) -> None:
    model = toy.make_model()
    values = iter([0.5, 0.6, 0.55, 0.58, 0.59, 0.9])
    model.evaluate = lambda batches: {"loss": 1.0, "accuracy": next(values)}  # type: ignore[method-assign]
    config = TrainerConfig(epochs=6, patience=2, progress=False, monitor="accuracy")
    trainer = Trainer(model, config, run_dir=tmp_path)
    result = trainer.fit(toy.EpochLoader(toy.make_batches(2, seed=1)), toy.make_batches(1, seed=2))
    history = result.history
    assert (result.best_epoch, result.best, result.mode) == (2, 0.6, "max")
    assert len(history) == 4  # best at epoch 2, no gain in epochs 3 and 4
    assert trainer.state.best == 0.6


def test_resume_without_checkpoint_is_one_clear_error(toy: Any, tmp_path: Path) -> None:
    trainer = Trainer(toy.make_model(), TrainerConfig(progress=False), run_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        trainer.fit(toy.EpochLoader(toy.make_batches(2, seed=1)), resume=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"optimizer": "adamax"},
            "optimizer must be one of adam, adamw, sgd, ntasgd, got 'adamax'",
        ),
        ({"schedule": "exponential"}, "schedule must be one of"),
        ({"epochs": 0}, "epochs must be ≥ 1"),
        ({"warmup": 1.5}, "warmup must be in"),
        ({"mode": "up"}, "mode must be 'auto', 'max' or 'min'"),
        ({"nonmono": 0}, r"^TrainerConfig: nonmono must be ≥ 1, got 0$"),
        ({"lr_decay": 0.0}, r"^TrainerConfig: lr_decay must be in \(0, 1\], got 0.0$"),
        ({"lr_decay": 1.5}, r"^TrainerConfig: lr_decay must be in \(0, 1\], got 1.5$"),
        ({"lr_decay": float("nan")}, r"^TrainerConfig: lr_decay must be in \(0, 1\], got nan$"),
        ({"decay_after": -1}, r"^TrainerConfig: decay_after must be ≥ 0, got -1$"),
        ({"weight_decay": -1.0}, r"^TrainerConfig: weight_decay must be a finite number ≥ 0"),
        ({"weight_decay": float("nan")}, r"weight_decay must be a finite number ≥ 0, got nan$"),
        ({"momentum": 1.5}, r"^TrainerConfig: momentum must be in \[0, 1\), got 1.5$"),
        ({"momentum": -0.1}, r"^TrainerConfig: momentum must be in \[0, 1\), got -0.1$"),
    ],
)
def test_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainerConfig(**options)


def test_the_edges_of_the_new_ranges_are_accepted() -> None:
    config = TrainerConfig(nonmono=1, lr_decay=1.0, decay_after=0, optimizer="ntasgd")
    assert (config.nonmono, config.lr_decay, config.decay_after) == (1, 1.0, 0)


def test_bf16_needs_cuda(toy: Any) -> None:
    with pytest.raises(ValueError, match="bf16 autocast needs a CUDA device"):
        Trainer(toy.make_model(), TrainerConfig(bf16=True, device="cpu"))


def test_unknown_monitor_names_the_metrics(toy: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="monitor='bleu' is not among the validation metrics"):
        fit(toy, tmp_path, epochs=1, monitor="bleu")


@pytest.mark.parametrize(("monitor", "kept"), [("loss", 3), ("accuracy", 2)])
def test_the_mode_follows_the_monitored_metric(
    toy: Any, tmp_path: Path, monitor: str, kept: int
) -> None:
    model = toy.make_model()
    values = iter([(0.9, 0.5), (0.7, 0.8), (0.6, 0.7)])  # (loss, accuracy) per epoch

    def evaluate(batches: Any) -> dict[str, float]:
        loss, accuracy = next(values)
        return {"loss": loss, "accuracy": accuracy}

    model.evaluate = evaluate  # type: ignore[method-assign]
    config = TrainerConfig(epochs=3, progress=False, monitor=monitor)
    result = Trainer(model, config, run_dir=tmp_path).fit(
        toy.EpochLoader(toy.make_batches(2, seed=1)), toy.make_batches(1, seed=2)
    )
    assert result.best_epoch == kept, "the kept epoch is the best by the metric's own direction"
    assert result.mode == ("min" if monitor == "loss" else "max")


@pytest.mark.parametrize("options", [{"lr": float("inf")}, {"clip_norm": -1.0}, {"clip_norm": 0}])
def test_values_that_would_train_to_garbage_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="finite number > 0"):
        TrainerConfig(**options)  # type: ignore[arg-type]


def test_a_sum_and_count_loss_is_weighted_by_its_count(toy: Any) -> None:
    model = toy.make_model()
    counts = iter([1, 3])
    sums = iter([2.0, 12.0])  # means 2 and 4: the epoch's loss is (2 + 12) / (1 + 3) = 3.5

    def forward_loss(batch: Any) -> tuple[torch.Tensor, int]:
        anchor = next(model.parameters()).sum() * 0
        return anchor + next(sums), next(counts)

    model.forward_loss = forward_loss  # type: ignore[method-assign]
    config = TrainerConfig(epochs=1, progress=False, clip_norm=None)
    result = Trainer(model, config).fit(toy.make_batches(2, seed=1))
    assert result.history[0]["train_loss"] == pytest.approx(3.5)


def test_stateful_models_hear_each_pass_and_step(toy: Any) -> None:
    """The hooks a model carrying state across batches (truncated BPTT) resets and detaches at."""
    model = toy.make_model()
    heard: list[str] = []
    model.start_epoch = lambda *, train: heard.append("train" if train else "val")  # type: ignore[method-assign]
    model.end_step = lambda: heard.append("step")  # type: ignore[method-assign]
    config = TrainerConfig(epochs=2, progress=False, monitor="accuracy")
    Trainer(model, config).fit(
        toy.EpochLoader(toy.make_batches(3, seed=1)), toy.make_batches(1, seed=2)
    )
    assert heard == ["train", "step", "step", "step", "val"] * 2


def test_a_loss_that_turns_non_finite_stops_the_run_and_keeps_the_last_good_weights(
    toy: Any, tmp_path: Path
) -> None:
    targets = [torch.tensor(1.0), torch.tensor(2.0)]
    config = TrainerConfig(epochs=3, lr=0.1, progress=False, monitor="loss", mode="min")
    trainer = Trainer(toy.Scalar([1.0, 0.5, 0.2]), config, run_dir=tmp_path)
    trainer.fit(targets, [torch.tensor(0.0)])  # a first run: 3 good epochs
    good = (tmp_path / "model.safetensors").read_bytes()
    poisoned = [torch.tensor(1.0), torch.tensor(float("nan"))]
    again = Trainer(toy.Scalar([1.0]), config, run_dir=tmp_path / "again")
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "model.safetensors").write_bytes(good)
    with pytest.raises(ValueError, match=r"the training loss became nan at epoch 1, step 2"):
        again.fit(poisoned, [torch.tensor(0.0)])
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == good


def test_a_step_that_overflows_the_weights_stops_the_run_before_they_are_kept(
    toy: Any, tmp_path: Path
) -> None:
    """The step's own loss is finite (1.0), the step sends the weight to inf: the epoch is not
    kept, logged or checkpointed."""
    config = TrainerConfig(
        epochs=2, optimizer="sgd", momentum=0.0, lr=3e38, clip_norm=None, progress=False
    )
    trainer = Trainer(toy.Scalar([0.5, 0.4]), config, run_dir=tmp_path)
    with pytest.raises(
        ValueError,
        match=r"^Trainer: the weights became non-finite \(w\) in epoch 1 \(by step 1\); no epoch "
        r"had finished, so nothing is kept \(lower --lr, or set --clip-norm\)$",
    ):
        trainer.fit([torch.tensor(1.0)], [torch.tensor(0.0)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]
    assert (tmp_path / "metrics.jsonl").read_text() == ""


def test_a_validation_loss_that_turns_non_finite_stops_the_run(toy: Any, tmp_path: Path) -> None:
    config = TrainerConfig(epochs=3, lr=0.1, progress=False, monitor="loss")
    trainer = Trainer(toy.Scalar([0.5, float("inf"), 0.1]), config, run_dir=tmp_path)
    with pytest.raises(
        ValueError,
        match=r"the validation loss became inf in epoch 2 \(by step 2\); the last good weights "
        r"and checkpoint are kept",
    ):
        trainer.fit([torch.tensor(1.0)], [torch.tensor(0.0)])
    assert load_checkpoint(tmp_path / "checkpoint.pt")["train_state"]["epoch"] == 1
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1]


def test_an_unknown_monitor_is_found_before_anything_is_spent(toy: Any, tmp_path: Path) -> None:
    """``check_monitor``: one validation batch, before any epoch (or file) of the run."""
    model = toy.Scalar([0.5])
    trainer = Trainer(model, TrainerConfig(progress=False, monitor="bleu"), run_dir=tmp_path)
    with pytest.raises(ValueError, match=r"monitor='bleu' is not among the validation metrics"):
        trainer.check_monitor([torch.tensor(0.0), torch.tensor(1.0)])
    assert model.calls == 1 and list(tmp_path.iterdir()) == []
    trainer.check_monitor(None)  # no validation: nothing to check, nothing evaluated
    trainer.check_monitor(iter([torch.tensor(0.0)]))  # one pass only: left to fit
    assert model.calls == 1
    fine = Trainer(toy.Scalar([0.5]), TrainerConfig(progress=False, monitor="w"))
    fine.check_monitor([torch.tensor(0.0)])
