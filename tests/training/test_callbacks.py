"""The Trainer's callbacks on a tiny classifier (tests/training/conftest.py), with the validation
metric scripted per epoch: best weights written exactly on improving epochs, a checkpoint after
every epoch, one metrics line per epoch, early stopping, a progress bar closed every epoch, a
user callback seeing every event in order; and ``is_better``."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from safetensors.torch import load_file
from tqdm.std import tqdm

import rnnkit.training.callbacks as callbacks_module
from rnnkit.training import Callback, EarlyStopping, MetricsLog, Trainer, TrainerConfig
from rnnkit.training.callbacks import is_better

NAN = math.nan
TRAIN_BATCHES = 2  # optimizer steps per epoch


def scripted_trainer(
    toy: Any,
    run_dir: Path | None,
    accuracies: Sequence[float],
    *,
    callbacks: Sequence[Callback] = (),
    **options: Any,
) -> Trainer:
    """A Trainer whose model reports ``accuracies[epoch]`` as its validation accuracy."""
    model = toy.make_model()
    scores = iter(accuracies)
    model.evaluate = lambda batches: {"loss": 1.0, "accuracy": next(scores)}
    options = {"epochs": len(accuracies), "progress": False, "monitor": "accuracy", **options}
    return Trainer(model, TrainerConfig(**options), run_dir=run_dir, callbacks=callbacks)


def fit(trainer: Trainer, toy: Any, *, validate: bool = True, resume: bool = False) -> None:
    train = toy.EpochLoader(toy.make_batches(TRAIN_BATCHES, seed=1, batch_size=2))
    val = toy.make_batches(1, seed=2, batch_size=2) if validate else None
    trainer.fit(train, val, resume=resume)


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in model.state_dict().items()}


class Recorder(Callback):
    """Writes every event into ``events``, with the trainer's progress at that moment."""

    def __init__(self, events: list[tuple[Any, ...]] | None = None) -> None:
        self.events = [] if events is None else events
        self.metrics: list[dict[str, float]] = []

    def on_fit_start(self, trainer: Trainer) -> None:
        self.events.append(("fit_start", trainer.state.epoch))

    def on_epoch_start(self, trainer: Trainer, epoch: int, num_batches: int) -> None:
        self.events.append(("epoch_start", epoch, num_batches))

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        assert isinstance(loss, float) and math.isfinite(loss)
        self.events.append(("batch_end", trainer.state.step))

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        self.metrics.append(metrics)
        self.events.append(("epoch_end", epoch, trainer.state.epoch))

    def on_fit_end(self, trainer: Trainer) -> None:
        self.events.append(("fit_end", trainer.state.epoch))


# --- a user callback ----------------------------------------------------------------------------


def test_a_user_callback_receives_every_event_in_order(toy: Any) -> None:
    recorder = Recorder()
    trainer = scripted_trainer(toy, None, [0.5, 0.6], callbacks=[recorder])
    fit(trainer, toy)
    assert recorder.events == [
        ("fit_start", 0),
        ("epoch_start", 0, 2),
        ("batch_end", 1),  # the step counter counts the optimizer step just taken
        ("batch_end", 2),
        ("epoch_end", 0, 1),  # state.epoch already counts the epoch that ended
        ("epoch_start", 1, 2),
        ("batch_end", 3),
        ("batch_end", 4),
        ("epoch_end", 1, 2),
        ("fit_end", 2),
    ]
    assert recorder.metrics == trainer.state.history
    assert [m["val_accuracy"] for m in recorder.metrics] == [0.5, 0.6]


def test_fit_start_comes_after_a_resume_restored_the_state(toy: Any, tmp_path: Path) -> None:
    fit(scripted_trainer(toy, tmp_path, [0.5]), toy)  # one epoch, checkpointed
    recorder = Recorder()
    resumed = scripted_trainer(toy, tmp_path, [0.6], epochs=2, callbacks=[recorder])
    fit(resumed, toy, resume=True)
    assert recorder.events == [
        ("fit_start", 1),
        ("epoch_start", 1, 2),
        ("batch_end", 3),
        ("batch_end", 4),
        ("epoch_end", 1, 2),
        ("fit_end", 2),
    ]


class KeepsBest(Callback):
    """Copies the weights at the end of every improving epoch; checks them at the fit's end."""

    def __init__(self) -> None:
        self.best: dict[str, torch.Tensor] = {}
        self.last: dict[str, torch.Tensor] = {}
        self.restored = False

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        self.last = snapshot(trainer.model)
        if trainer.state.improved:
            self.best = self.last

    def on_fit_end(self, trainer: Trainer) -> None:
        now = trainer.model.state_dict()
        self.restored = all(torch.equal(now[name], t) for name, t in self.best.items())


def test_fit_end_sees_the_best_weights_back_in_the_model(toy: Any, tmp_path: Path) -> None:
    keeper = KeepsBest()
    fit(scripted_trainer(toy, tmp_path, [0.9, 0.5], callbacks=[keeper]), toy)
    assert any(not torch.equal(keeper.best[n], t) for n, t in keeper.last.items())
    assert keeper.restored, "on_fit_end ran before the best epoch's weights were reloaded"


# --- BestWeights ----------------------------------------------------------------------------


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every ``save_weights`` call BestWeights makes, as ("save", weights at that moment)."""
    events: list[tuple[Any, ...]] = []
    real = callbacks_module.save_weights

    def spy(model: torch.nn.Module, path: Path) -> Path:
        events.append(("save", path.name, snapshot(model)))
        return real(model, path)

    monkeypatch.setattr(callbacks_module, "save_weights", spy)
    return events


@pytest.mark.parametrize(
    ("accuracies", "saved_after"),
    [
        ([0.5, 0.7, 0.6, 0.7, 0.9], [0, 1, 4]),  # a tie (0.7 again) is no improvement
        ([NAN, 0.5, NAN, 0.4], [1]),  # NaN never improves
        ([0.9, 0.1, 0.2], [0]),
    ],
)
def test_best_weights_are_written_exactly_on_improving_epochs(
    toy: Any,
    tmp_path: Path,
    saves: list[tuple[Any, ...]],
    accuracies: list[float],
    saved_after: list[int],
) -> None:
    recorder = Recorder(saves)  # user callbacks run first: its epoch_end precedes the save
    trainer = scripted_trainer(toy, tmp_path, accuracies, callbacks=[recorder])
    fit(trainer, toy)
    ends = [i for i, event in enumerate(saves) if event[0] == "epoch_end"]
    written = [e for e, i in enumerate(ends) if i + 1 < len(saves) and saves[i + 1][0] == "save"]
    assert written == saved_after
    assert all(event[1] == "model.safetensors" for event in saves if event[0] == "save")
    on_disk = load_file(str(tmp_path / "model.safetensors"))
    last_saved = next(event[2] for event in reversed(saves) if event[0] == "save")
    for name, tensor in last_saved.items():
        assert torch.equal(on_disk[name], tensor), name


def test_without_validation_every_epoch_writes_the_weights(
    toy: Any, tmp_path: Path, saves: list[tuple[Any, ...]]
) -> None:
    fit(scripted_trainer(toy, tmp_path, [0.0] * 3), toy, validate=False)
    assert len(saves) == 3


def test_without_a_run_dir_nothing_is_written(
    toy: Any, tmp_path: Path, saves: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fit(scripted_trainer(toy, None, [0.5, 0.6]), toy)
    assert saves == []
    assert list(tmp_path.iterdir()) == []


# --- Checkpointing --------------------------------------------------------------------------


def test_a_checkpoint_is_written_after_every_epoch(
    toy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[dict[str, Any]] = []
    real = callbacks_module.save_checkpoint

    def spy(state: dict[str, Any], path: Path) -> Path:
        out = real(state, path)
        reread = torch.load(path, map_location="cpu", weights_only=True)
        written.append({"name": path.name, **reread["train_state"]})
        return out

    monkeypatch.setattr(callbacks_module, "save_checkpoint", spy)
    fit(scripted_trainer(toy, tmp_path, [0.5, 0.7, 0.6]), toy)
    assert [w["name"] for w in written] == ["checkpoint.pt"] * 3
    assert [w["epoch"] for w in written] == [1, 2, 3], "train_state.epoch = epochs done"
    assert [w["step"] for w in written] == [2, 4, 6]
    assert [len(w["history"]) for w in written] == [1, 2, 3]
    assert [(w["best"], w["best_epoch"]) for w in written] == [(0.5, 0), (0.7, 1), (0.7, 1)]
    assert not list(tmp_path.glob("*.tmp"))


# --- MetricsLog -----------------------------------------------------------------------------


def test_metrics_log_writes_one_json_line_per_epoch(toy: Any, tmp_path: Path) -> None:
    trainer = scripted_trainer(toy, tmp_path, [0.5, 0.7, 0.6])
    fit(trainer, toy)
    lines = (tmp_path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert [r["val_accuracy"] for r in records] == [0.5, 0.7, 0.6]
    for record, metrics in zip(records, trainer.state.history, strict=True):
        assert {k: v for k, v in record.items() if k != "epoch"} == metrics


def test_metrics_log_makes_its_folder_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "run" / "metrics.jsonl"
    log = MetricsLog(path)
    trainer: Any = None  # MetricsLog reads nothing from the trainer
    log.on_epoch_end(trainer, 0, {"train_loss": 0.5})
    log.on_epoch_end(trainer, 1, {"train_loss": 0.25})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"epoch": 1, "train_loss": 0.5},
        {"epoch": 2, "train_loss": 0.25},
    ]


# --- EarlyStopping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patience", "accuracies", "epochs_run"),
    [
        (1, [0.5, 0.6, 0.5, 0.5, 0.5, 0.5], 3),  # best at epoch 1; epoch 2 no gain: stop
        (2, [0.5, 0.6, 0.5, 0.5, 0.5, 0.5], 4),
        (3, [0.5, 0.6, 0.5, 0.5, 0.5, 0.5], 5),
        (2, [0.5, 0.4, 0.6, 0.5, 0.5, 0.9], 5),  # epoch 2 improves and restarts the count
        (2, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0], 6),  # always improving: never stops
    ],
)
def test_early_stopping_stops_after_patience_epochs_without_gain(
    toy: Any, patience: int, accuracies: list[float], epochs_run: int
) -> None:
    recorder = Recorder()
    trainer = scripted_trainer(toy, None, accuracies, patience=patience, callbacks=[recorder])
    fit(trainer, toy)
    assert len(trainer.state.history) == epochs_run
    assert trainer.state.should_stop == (epochs_run < len(accuracies))
    assert recorder.events[-1] == ("fit_end", epochs_run), "fit_end fires after a stop too"


def test_early_stopping_stops_when_no_epoch_ever_improves(toy: Any) -> None:
    trainer = scripted_trainer(toy, None, [NAN] * 4, patience=2)
    fit(trainer, toy)
    assert len(trainer.state.history) == 2


@pytest.mark.parametrize("patience", [0, -1])
def test_early_stopping_rejects_patience_below_one(toy: Any, patience: int) -> None:
    message = f"EarlyStopping: patience must be ≥ 1, got {patience}"
    with pytest.raises(ValueError, match=message):
        EarlyStopping(patience)
    with pytest.raises(ValueError, match=message):  # from the config, when the Trainer is built
        Trainer(toy.make_model(), TrainerConfig(patience=patience, progress=False))


# --- ProgressBar ----------------------------------------------------------------------------


class RecordingBar(tqdm):  # type: ignore[misc]
    """A tqdm bar into a shared buffer that logs its opening and closing."""

    log: ClassVar[list[tuple[Any, ...]]] = []
    out: ClassVar[io.StringIO] = io.StringIO()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, file=self.out, mininterval=0, **kwargs)
        self.log.append(("open", self.desc, self.total))

    def close(self) -> None:
        if not self.disable:  # tqdm's close is idempotent; log the first one only
            self.log.append(("close", self.desc, self.n))
        super().close()


def test_progress_bar_is_closed_every_epoch(toy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RecordingBar, "log", [])
    monkeypatch.setattr(RecordingBar, "out", io.StringIO())
    monkeypatch.setattr(callbacks_module, "tqdm", RecordingBar)
    fit(scripted_trainer(toy, None, [0.25, 0.75], progress=True), toy)
    assert RecordingBar.log == [
        ("open", "epoch 1/2", 2),
        ("close", "epoch 1/2", 2),  # closed, full, before the next bar opens
        ("open", "epoch 2/2", 2),
        ("close", "epoch 2/2", 2),
    ]
    text = RecordingBar.out.getvalue()
    assert "val_accuracy=0.2500" in text and "val_accuracy=0.7500" in text
    assert "loss=" in text


def test_no_bar_without_progress(toy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RecordingBar, "log", [])
    monkeypatch.setattr(callbacks_module, "tqdm", RecordingBar)
    fit(scripted_trainer(toy, None, [0.5], progress=False), toy)
    assert RecordingBar.log == []


# --- is_better ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "best", "mode", "expected"),
    [
        (NAN, None, "max", False),  # NaN never improves, not even on nothing
        (NAN, None, "min", False),
        (NAN, 1.0, "max", False),
        (NAN, 1.0, "min", False),
        (0.5, None, "max", True),  # anything real beats nothing
        (0.5, None, "min", True),
        (-math.inf, None, "max", True),
        (2.0, 1.0, "max", True),
        (1.0, 2.0, "max", False),
        (1.0, 1.0, "max", False),  # a tie is no improvement
        (1.0, 2.0, "min", True),
        (2.0, 1.0, "min", False),
        (1.0, 1.0, "min", False),
        (math.inf, 1.0, "max", True),
        (-math.inf, 1.0, "min", True),
    ],
)
def test_is_better(value: float, best: float | None, mode: str, expected: bool) -> None:
    assert is_better(value, best, mode) is expected
