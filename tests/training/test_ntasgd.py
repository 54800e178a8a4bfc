"""NT-ASGD: the switch exactly when AWD-LSTM's rule says, in both modes; the average is the mean
of the iterates since the switch (and torch's ASGD ``ax`` one step later); before the switch it
is plain SGD; in the Trainer, validation and the kept weights see the average while training goes
on from the raw weights; a killed and resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from rnnkit.training import Callback, Trainer, TrainerConfig, load_checkpoint
from rnnkit.training.ntasgd import NTASGD


def awd_lstm_switches(values: list[float], nonmono: int, mode: str) -> list[bool]:
    """AWD-LSTM's main loop (min mode), written out; max mode on the negated values."""
    best_val_loss: list[float] = []
    switched, out = False, []
    for value in values:
        loss = value if mode == "min" else -value
        now = False
        if not switched:
            if len(best_val_loss) > nonmono and loss > min(best_val_loss[:-nonmono]):
                switched = now = True
            best_val_loss.append(loss)
        out.append(now)
    return out


def observed(values: list[float], nonmono: int, mode: str) -> list[bool]:
    optimizer = NTASGD([nn.Parameter(torch.zeros(1))], lr=1.0, weight_decay=0.0, nonmono=nonmono)
    return [optimizer.observe(value, mode) for value in values]


@pytest.mark.parametrize(
    ("values", "nonmono", "switch_at"),
    [
        ([1, 2, 3, 4, 5, 6], 2, 3),  # always worse: not before history holds nonmono + 1 values
        ([1, 2, 3, 4, 5, 6, 7, 8], 5, 6),  # the default nonmono: the 7th value at the earliest
        ([3, 2, 1, 2.5, 2.9], 2, 4),  # 2.5 is worse than 1 but not than history[:-2] = [3]
        ([5, 4, 3, 3.5, 4.5], 2, 4),  # 3.5 > 5? no; 4.5 > min(5, 4): yes
        ([3, 2, 1, 0.5, 0.2, 0.1], 1, None),  # always improving: never
        ([1, 1, 1, 1, 1], 1, None),  # a tie is not worse
        ([1, 2, 3, 0, 9], 1, 2),  # once switched, it stays switched and says so once
    ],
)
@pytest.mark.parametrize("mode", ["min", "max"])
def test_the_switch_follows_awd_lstm_rule(
    values: list[float], nonmono: int, switch_at: int | None, mode: str
) -> None:
    values = [float(v) if mode == "min" else -float(v) for v in values]
    got = observed(values, nonmono, mode)
    assert got == [i == switch_at for i in range(len(values))]
    assert got == awd_lstm_switches(values, nonmono, mode)


def test_the_switch_matches_awd_lstm_on_random_sequences() -> None:
    g = torch.Generator().manual_seed(0)
    for trial in range(200):
        values = torch.rand(12, generator=g).tolist()
        nonmono, mode = 1 + trial % 4, ("min", "max")[trial % 2]
        assert observed(values, nonmono, mode) == awd_lstm_switches(values, nonmono, mode)


def quadratic(param: torch.Tensor, step: int) -> torch.Tensor:
    """A loss whose gradient changes with the step, so the iterates differ."""
    target = torch.tensor([1.0, -2.0, 0.5]) * (1 + step % 3)
    return ((param - target) ** 2).sum()


def run(
    optimizer: torch.optim.Optimizer,
    param: nn.Parameter,
    steps: range,
    after_step: Callable[[int], None] = lambda step: None,
) -> list[torch.Tensor]:
    """Take ``steps`` on ``quadratic``; the parameter after each."""
    seen = []
    for step in steps:
        optimizer.zero_grad()
        quadratic(param, step).backward()
        optimizer.step()
        seen.append(param.detach().clone())
        after_step(step)
    return seen


def test_before_the_switch_it_is_plain_sgd() -> None:
    a, b = (
        nn.Parameter(torch.tensor([0.3, 0.1, -0.2])),
        nn.Parameter(torch.tensor([0.3, 0.1, -0.2])),
    )
    ours = run(NTASGD([a], lr=0.1, weight_decay=0.01, nonmono=1), a, range(5))
    sgd = run(torch.optim.SGD([b], lr=0.1, weight_decay=0.01), b, range(5))
    assert all(torch.equal(x, y) for x, y in zip(ours, sgd, strict=True))


def switched(param: nn.Parameter, lr: float = 0.1) -> NTASGD:
    optimizer = NTASGD([param], lr=lr, weight_decay=0.01, nonmono=1)
    assert [optimizer.observe(v, "min") for v in (1.0, 2.0, 3.0)] == [False, False, True]
    return optimizer


def test_the_average_is_the_mean_of_the_iterates_since_the_switch() -> None:
    param = nn.Parameter(torch.tensor([0.3, 0.1, -0.2]))
    optimizer = NTASGD([param], lr=0.1, weight_decay=0.01, nonmono=1)
    before = run(optimizer, param, range(3))  # plain SGD: nothing averaged
    assert "ax" not in optimizer.state[param]
    for value in (1.0, 2.0, 3.0):
        optimizer.observe(value, "min")
    assert optimizer.averaging and optimizer.count == 0
    with optimizer.averaged():
        assert torch.equal(param, before[-1]), "no average to swap in before the next step"
    iterates = run(optimizer, param, range(3, 8))
    mean = torch.stack(iterates).mean(0)
    assert optimizer.count == 5
    torch.testing.assert_close(optimizer.state[param]["ax"], mean, rtol=1e-6, atol=1e-7)
    with optimizer.averaged():
        torch.testing.assert_close(param.detach(), mean, rtol=1e-6, atol=1e-7)
        with pytest.raises(RuntimeError, match="averages in the parameters"):
            optimizer.step()
    assert torch.equal(param, iterates[-1]), "the raw weights are back after the average"
    assert not torch.allclose(mean, iterates[-1])


def test_the_average_is_torch_asgd_ax_one_step_later() -> None:
    """torch's ASGD(t0=0, lambd=0, alpha=0) leaves its first step out of ``ax``: it equals an
    NTASGD switched after that step."""
    a, b = (
        nn.Parameter(torch.tensor([0.3, 0.1, -0.2])),
        nn.Parameter(torch.tensor([0.3, 0.1, -0.2])),
    )
    ours = NTASGD([a], lr=0.1, weight_decay=0.01, nonmono=1)
    asgd = torch.optim.ASGD([b], lr=0.1, t0=0, lambd=0.0, alpha=0.0, weight_decay=0.01)

    def switch_after_first(step: int) -> None:
        if step == 0:
            for value in (1.0, 2.0, 3.0):
                ours.observe(value, "min")

    raw = run(ours, a, range(6), switch_after_first)
    reference = run(asgd, b, range(6))
    for x, y in zip(raw, reference, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    torch.testing.assert_close(ours.state[a]["ax"], asgd.state[b]["ax"], rtol=1e-6, atol=1e-7)


def test_state_dict_holds_the_switch_and_the_averages_and_reloads_without_pickle() -> None:
    param = nn.Parameter(torch.tensor([0.3, 0.1, -0.2]))
    optimizer = switched(param)
    run(optimizer, param, range(3))
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    assert saved["ntasgd"] == {"history": [1.0, 2.0, 3.0], "averaging": True, "count": 3}
    copy = nn.Parameter(param.detach().clone())
    again = NTASGD([copy], lr=0.1, weight_decay=0.01, nonmono=1)
    again.load_state_dict(saved)
    assert (again.averaging, again.count, again.history) == (True, 3, [1.0, 2.0, 3.0])
    after = run(optimizer, param, range(3, 5)), run(again, copy, range(3, 5))
    assert all(torch.equal(x, y) for x, y in zip(*after, strict=True))
    assert torch.equal(optimizer.state[param]["ax"], again.state[copy]["ax"])
    with optimizer.averaged(), pytest.raises(RuntimeError, match="averages in the parameters"):
        optimizer.state_dict()


def test_nonmono_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="NTASGD: nonmono must be ≥ 1, got 0"):
        NTASGD([nn.Parameter(torch.zeros(1))], lr=1.0, weight_decay=0.0, nonmono=0)


# --- in the Trainer -------------------------------------------------------------------------

TARGETS = [torch.tensor(1.0), torch.tensor(3.0)]  # two steps an epoch
LOSSES = [3.0, 2.0, 4.0, 1.0, 0.5]  # nonmono 1: 4 > min([3]) switches after epoch 3


class Weights(Callback):
    """The raw weight after every optimizer step."""

    def __init__(self) -> None:
        self.after_step: list[float] = []

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        self.after_step.append(float(trainer.model.w.detach()))


def scalar_fit(
    toy: Any, run_dir: Path | None, optimizer: str, losses: list[float] = LOSSES
) -> tuple[Trainer, Weights]:
    model, weights = toy.Scalar(losses), Weights()
    config = TrainerConfig(
        epochs=len(losses), optimizer=optimizer, lr=0.1, momentum=0.0, nonmono=1,
        clip_norm=None, monitor="loss", progress=False, device="cpu",
    )  # fmt: skip
    trainer = Trainer(model, config, run_dir=run_dir, callbacks=[weights])
    trainer.fit(TARGETS, [torch.tensor(0.0)])
    return trainer, weights


@pytest.mark.parametrize("with_run_dir", [True, False])
def test_validation_and_the_kept_weights_see_the_average(
    toy: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], with_run_dir: bool
) -> None:
    run_dir = tmp_path if with_run_dir else None
    trainer, weights = scalar_fit(toy, run_dir, "ntasgd")
    raw = weights.after_step  # steps 1..10; epochs 4 and 5 (steps 7..10) are averaged
    validated = [h["val_w"] for h in trainer.state.history]
    assert validated[:3] == [raw[1], raw[3], raw[5]], "raw weights before the switch"
    assert validated[3] == pytest.approx((raw[6] + raw[7]) / 2, rel=1e-6)
    average = sum(raw[6:10]) / 4
    assert validated[4] == pytest.approx(average, rel=1e-6)
    assert [h["averaging"] for h in trainer.state.history] == [0, 0, 0, 1, 1]
    _, sgd = scalar_fit(toy, None, "sgd")
    assert raw == sgd.after_step, "training goes on from the raw weights, as plain SGD"
    assert float(trainer.model.w.detach()) == pytest.approx(average, rel=1e-6), (
        "the model ends averaged"
    )
    assert capsys.readouterr().err.splitlines() == [
        "NT-ASGD: validation loss did not improve over 1 epochs; averaging the weights from epoch 4"
    ]
    if run_dir is not None:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["averaging"] for line in lines] == [0, 0, 0, 1, 1]
        saved = load_checkpoint(run_dir / "checkpoint.pt")
        assert float(saved["model"]["w"]) == raw[-1], "the checkpoint holds the raw weights"
        assert saved["optimizer"]["ntasgd"]["count"] == 4


def test_a_kept_epoch_before_the_switch_keeps_its_raw_weights(toy: Any, tmp_path: Path) -> None:
    trainer, weights = scalar_fit(toy, tmp_path, "ntasgd", [3.0, 2.0, 4.0, 2.5, 2.2])
    assert trainer.state.best_epoch == 1
    assert float(trainer.model.w.detach()) == weights.after_step[3]


def test_resume_after_a_kill_gives_the_same_weights(toy: Any, tmp_path: Path) -> None:
    losses = [3.0, 2.0, 4.0, 1.5, 1.0, 0.5]  # switches after epoch 3; epoch 6 is kept
    options = {"epochs": 6, "optimizer": "ntasgd", "lr": 0.5, "nonmono": 1, "progress": False}
    train, val = toy.make_batches(6, seed=1), toy.make_batches(2, seed=2)

    def new_trainer(run_dir: Path, start: int, callbacks: list[Callback]) -> Trainer:
        model = toy.make_model(dropout=0.3)
        values = iter(losses[start:])
        model.evaluate = lambda batches: {"loss": next(values)}
        config = TrainerConfig(monitor="loss", **options)
        return Trainer(model, config, run_dir=run_dir, callbacks=callbacks)

    whole = new_trainer(tmp_path / "whole", 0, [])
    whole.fit(toy.EpochLoader(train), val)
    killed = new_trainer(tmp_path / "killed", 0, [toy.Interrupt(epoch=4)])
    with pytest.raises(KeyboardInterrupt):
        killed.fit(toy.EpochLoader(train), val)
    saved = load_checkpoint(tmp_path / "killed" / "checkpoint.pt")
    assert saved["train_state"]["epoch"] == 4
    assert saved["optimizer"]["ntasgd"] == {
        "history": [3.0, 2.0, 4.0], "averaging": True, "count": 6,
    }  # fmt: skip
    resumed = new_trainer(tmp_path / "killed", 4, [])
    resumed.fit(toy.EpochLoader(train), val, resume=True)
    assert resumed.state.best_epoch == 5
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert whole.state.history[-1]["averaging"] == 1
    for key in ("train_loss", "averaging", "lr"):
        assert [h[key] for h in whole.state.history] == [h[key] for h in resumed.state.history]
