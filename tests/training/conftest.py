"""A tiny, learnable classification problem and an epoch-aware loader for Trainer tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from rnnkit.tasks.classify import ClassifierConfig, TextBatch, TextClassifier
from rnnkit.tasks.encoder import EncoderConfig

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


class Toy:
    """The helpers above, handed to tests as one fixture (tests cannot import conftest)."""

    EpochLoader = EpochLoader
    make_batches = staticmethod(make_batches)
    make_model = staticmethod(make_model)


@pytest.fixture
def toy() -> type[Toy]:
    return Toy
