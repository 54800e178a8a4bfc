"""Tiny searches for the tuning tests: a search config file on the synthetic task (sequences of
6 steps, a few dozen of them, 2 epochs: a trial trains in a fraction of a second), small data
containers of every task, and a scripted stand-in for training."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from rnnkit.datasets.base import (
    ClassificationData,
    CorpusData,
    Example,
    Pair,
    ParallelData,
    TaggedSentence,
    TaggingData,
)
from rnnkit.training.trainer import FitResult

SYNTHETIC = """\
[data]
seq_len = 5
train_size = 24
val_size = 8
test_size = 8
batch_size = 8

[model.encoder]
hidden_size = 4

[trainer]
epochs = 2
"""

GRID = """\
[tune]
"model.encoder.hidden_size" = [2, 4]
"model.encoder.cell" = ["rnn", "gru"]
"""


def write_search(folder: Path, tune: str = GRID, *, settings: str = SYNTHETIC) -> Path:
    """A search config file (TOML): the run's ``settings`` and the ``[tune]`` section."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "search.toml"
    path.write_text(settings + "\n" + tune, encoding="utf-8")
    return path


def classification_data(n: int = 30) -> ClassificationData:
    """Three labels of unequal size (half, a third, a sixth) and a test split of other texts."""
    labels = ["a"] * (n // 2) + ["b"] * (n // 3) + ["c"] * (n - n // 2 - n // 3)
    train = [Example(f"train text {i}", label) for i, label in enumerate(labels)]
    test = [Example(f"test text {i}", "abc"[i % 3]) for i in range(6)]
    return ClassificationData(train, [Example("val text", "a")], test, labels=["a", "b", "c"])


def tagging_data(n: int = 20) -> TaggingData:
    rng = random.Random(0)
    names = ["Anna", "Bob", "Carl"]

    def sentence(i: int, where: str) -> TaggedSentence:
        return TaggedSentence((rng.choice(names), f"{where}{i}", "."), ("B-PER", "O", "O"))

    return TaggingData(
        [sentence(i, "saw") for i in range(n)], [sentence(0, "val")],
        [sentence(i, "test") for i in range(5)], tags=["O", "B-PER"], scheme="iob2",
        files={"train": "train.txt", "val": "val.txt", "test": "test.txt"},
    )  # fmt: skip


def corpus_data(lines: int = 12) -> CorpusData:
    stream: list[str] = []
    for i in range(lines):
        stream += [f"w{i}", *["the", "cat"][: i % 3], "<eos>"]
    test = ["test", "words", "<eos>"]
    return CorpusData(stream, ["val", "<eos>"], test, level="word", eos="<eos>")


def parallel_data(n: int = 15) -> ParallelData:
    train = [Pair(f"quelle {i}", f"source {i}") for i in range(n)]
    test = [Pair(f"test {i}", f"test {i}") for i in range(4)]
    return ParallelData(train, [Pair("v", "v")], test, src="de", tgt="en")


def synthetic_data(n: int = 20) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    def rows(count: int, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.arange(start, start + count, dtype=torch.float32).reshape(count, 1, 1)
        return x.expand(count, 3, 2).clone(), torch.arange(start, start + count).float()

    return {"train": rows(n, 0), "val": rows(4, 1000), "test": rows(5, 2000)}


@dataclass
class Scripted:
    """A stand-in for :func:`rnnkit.pipelines.run.train` (patched into the search module): each
    epoch's validation metric comes from ``metric(config, epoch)``, handed to the callbacks as
    the Trainer would (the pruning callback among them); no model is trained."""

    metric: Callable[[Any, int], float]
    calls: int = 0

    def __call__(self, config: Any, out: Path, *, callbacks: Sequence[Any] = (), **_: Any) -> Any:
        self.calls += 1
        Path(out).mkdir(parents=True, exist_ok=True)
        monitor = config.trainer.monitor
        trainer = SimpleNamespace(config=SimpleNamespace(monitor=monitor))
        history = []
        for epoch in range(config.trainer.epochs):
            value = self.metric(config, epoch)
            metrics = {"train_loss": value, f"val_{monitor}": value}
            history.append(metrics)
            for callback in callbacks:
                callback.on_epoch_end(trainer, epoch, metrics)
        best = min(range(len(history)), key=lambda i: history[i][f"val_{monitor}"])
        fit = FitResult(
            history=history, best_epoch=best + 1, best=history[best][f"val_{monitor}"],
            monitor=monitor, mode="min",
        )  # fmt: skip
        return SimpleNamespace(fit=fit)
