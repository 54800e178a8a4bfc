"""A tiny, learnable classification problem and an epoch-aware loader for Trainer tests; a
one-weight model with a scripted validation; a callback that kills a run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
import torch
from torch import nn

from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.classify import ClassifierConfig, TextBatch, TextClassifier
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.training import Callback, Trainer

VOCAB, LABELS = 12, ["even", "odd"]


class EpochLoader:
    """Batches of a fixed dataset, reshuffled per epoch from (seed, epoch), optionally sharded."""

    def __init__(
        self, batches: list[TextBatch], *, seed: int = 0, rank: int = 0, world: int = 1
    ) -> None:
        self.batches, self.seed, self.rank, self.world = batches, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches) // self.world

    def __iter__(self) -> Iterator[TextBatch]:
        order = torch.randperm(len(self.batches), generator=torch.Generator().manual_seed(
            self.seed * 1000 + self.epoch
        )).tolist()  # fmt: skip
        for index in order[self.rank :: self.world][: len(self)]:
            yield self.batches[index]


def make_batches(n_batches: int, *, seed: int, batch_size: int = 8) -> list[TextBatch]:
    """Label = parity of how many times token 2 occurs; lengths vary in [3, 10]."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(n_batches):
        lengths = torch.randint(3, 11, (batch_size,), generator=g)
        ids = torch.randint(1, VOCAB, (batch_size, 10), generator=g)
        ids[torch.arange(10).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
        labels = ((ids == 2).sum(1) % 2).long()
        batches.append(TextBatch(ids, lengths, labels))
    return batches


def make_model(seed: int = 0, **options: object) -> TextClassifier:
    torch.manual_seed(seed)
    encoder = EncoderConfig(cell=str(options.pop("cell", "lstm")), hidden_size=8)
    config = ClassifierConfig(embedding_dim=8, encoder=encoder, **options)  # type: ignore[arg-type]
    return TextClassifier(config, vocab_size=VOCAB, labels=LABELS)


class Scalar(TaskModel):
    """One weight ``w`` (from 0); a batch is a target ``t`` with the loss (w − t)². Validation
    reports ``losses[k]`` at its k-th call as ``loss`` and the weight it sees as ``w``."""

    def __init__(self, losses: Sequence[float]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.losses = list(losses)
        self.calls = 0

    def forward_loss(self, batch: Any) -> torch.Tensor:
        return (self.w - batch) ** 2

    def evaluate(self, batches: Iterable[Any]) -> dict[str, float]:
        loss = self.losses[self.calls]
        self.calls += 1
        return {"loss": loss, "w": float(self.w)}


class Interrupt(Callback):
    """Raises after the third step of ``epoch`` (0-based) to simulate a killed run."""

    def __init__(self, epoch: int) -> None:
        self.epoch, self.seen = epoch, 0

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        if trainer.state.epoch == self.epoch:
            self.seen += 1
            if self.seen == 3:
                raise KeyboardInterrupt


class Toy:
    """The helpers above, handed to tests as one fixture (tests cannot import conftest)."""

    EpochLoader = EpochLoader
    make_batches = staticmethod(make_batches)
    make_model = staticmethod(make_model)
    Scalar = Scalar
    Interrupt = Interrupt


@pytest.fixture
def toy() -> type[Toy]:
    return Toy
