"""Epoch-level schedules in the Trainer: ``plateau`` divides the rate by 4 exactly after the
epochs whose monitored value did not improve, ``step`` decays it every epoch from
``decay_after`` on (Zaremba et al.'s 1, 1, 1, 1, 0.5, 0.25, …), warm-up still applies per step,
the epoch's ``lr`` is the rate its steps ran with, and a killed run resumes to the same rates and
weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from rnnkit.training import Callback, Trainer, TrainerConfig, load_checkpoint

TARGETS = [torch.tensor(1.0), torch.tensor(3.0)]  # two optimizer steps an epoch


class UsedRates(Callback):
    """The learning rate every optimizer step ran with, by epoch (read before the step)."""

    def __init__(self) -> None:
        self.by_epoch: list[list[float]] = []
        self.next = 0.0

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        self.by_epoch.append([])
        self.next = rate(trainer)

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        self.by_epoch[-1].append(self.next)
        self.next = rate(trainer)


def rate(trainer: Trainer) -> float:
    assert trainer.optimizer is not None
    return float(trainer.optimizer.param_groups[0]["lr"])


def scalar_fit(toy: Any, losses: list[float], **options: Any) -> tuple[Trainer, UsedRates]:
    rates = UsedRates()
    options = {"optimizer": "sgd", "momentum": 0.0, "clip_norm": None, **options}
    config = TrainerConfig(
        epochs=len(losses), monitor="loss", progress=False, device="cpu", **options
    )
    trainer = Trainer(toy.Scalar(losses), config, callbacks=[rates])
    trainer.fit(TARGETS, [torch.tensor(0.0)])
    return trainer, rates


def test_plateau_divides_the_rate_by_4_after_each_epoch_without_gain(toy: Any) -> None:
    losses = [3.0, 2.0, 2.5, 1.0, 1.5, 1.2, 0.5]  # epochs 3, 5 and 6 do not improve
    trainer, rates = scalar_fit(toy, losses, schedule="plateau", lr=0.1)
    expected = [0.1, 0.1, 0.1, 0.1 / 4, 0.1 / 4, 0.1 / 16, 0.1 / 64]
    assert [h["lr"] for h in trainer.state.history] == pytest.approx(expected, rel=1e-12)
    for used, lr in zip(rates.by_epoch, expected, strict=True):
        assert used == pytest.approx([lr, lr], rel=1e-12), "every step of the epoch at its rate"
    assert trainer.state.lr_scale == pytest.approx(1 / 64)


def test_step_halves_the_rate_every_epoch_after_decay_after(toy: Any) -> None:
    trainer, rates = scalar_fit(
        toy, [1.0] * 7, schedule="step", lr=1.0, lr_decay=0.5, decay_after=4
    )
    expected = [1, 1, 1, 1, 0.5, 0.25, 0.125]  # Zaremba et al. 2014's small config
    assert [h["lr"] for h in trainer.state.history] == expected
    assert rates.by_epoch == [[lr, lr] for lr in expected]


def test_warmup_still_applies_per_step(toy: Any) -> None:
    # 6 steps, the first 3 warming up ((s + 1) / 3); step decays by half after epochs 1 and 2
    _, rates = scalar_fit(
        toy, [1.0] * 3, schedule="step", lr=1.0, lr_decay=0.5, decay_after=1, warmup=0.5
    )
    expected = [[1 / 3, 2 / 3], [1 / 2, 1 / 2], [1 / 4, 1 / 4]]
    assert rates.by_epoch == [pytest.approx(epoch, rel=1e-12) for epoch in expected]


def test_the_defaults_keep_the_rate(toy: Any) -> None:
    trainer, _ = scalar_fit(toy, [3.0, 4.0, 5.0], lr=0.1)  # constant: no gain changes nothing
    assert [h["lr"] for h in trainer.state.history] == [0.1, 0.1, 0.1]
    assert trainer.state.lr_scale == 1.0


@pytest.mark.parametrize(
    ("options", "rates"),
    [
        ({"schedule": "plateau"}, [0.1, 0.1, 0.1, 0.1 / 4, 0.1 / 4, 0.1 / 16]),
        (
            {"schedule": "step", "lr_decay": 0.5, "decay_after": 2},
            [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625],
        ),
    ],
)
def test_resume_after_a_kill_gives_the_same_rates_and_weights(
    toy: Any, tmp_path: Path, options: dict[str, Any], rates: list[float]
) -> None:
    losses = [3.0, 2.0, 2.5, 1.0, 1.5, 1.2]  # epochs 3, 5 and 6 do not improve
    train, val = toy.make_batches(6, seed=1), toy.make_batches(2, seed=2)

    def new_trainer(run_dir: Path, start: int, callbacks: list[Callback]) -> Trainer:
        model = toy.make_model(dropout=0.3)
        values = iter(losses[start:])
        model.evaluate = lambda batches: {"loss": next(values)}
        config = TrainerConfig(
            epochs=6, optimizer="sgd", lr=0.1, monitor="loss", progress=False, **options
        )
        return Trainer(model, config, run_dir=run_dir, callbacks=callbacks)

    whole = new_trainer(tmp_path / "whole", 0, [])
    whole.fit(toy.EpochLoader(train), val)
    killed = new_trainer(tmp_path / "killed", 0, [toy.Interrupt(epoch=3)])
    with pytest.raises(KeyboardInterrupt):
        killed.fit(toy.EpochLoader(train), val)
    saved = load_checkpoint(tmp_path / "killed" / "checkpoint.pt")["train_state"]
    assert (saved["epoch"], saved["lr_scale"]) == (3, pytest.approx(rates[3] / 0.1))
    resumed = new_trainer(tmp_path / "killed", 3, [])
    resumed.fit(toy.EpochLoader(train), val, resume=True)
    assert [h["lr"] for h in whole.state.history] == pytest.approx(rates, rel=1e-12)
    assert [h["lr"] for h in resumed.state.history] == [h["lr"] for h in whole.state.history]
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
