"""Language-model pretraining of an encoder: targets aligned, nothing leaks, modules shared."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.nn import GRU, LSTM
from rnnkit.tasks.classify import ClassifierConfig, TextBatch, TextClassifier
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.tasks.encoder_lm import EncoderLM

VOCAB = 24


def _fit(lm: EncoderLM, make_batch: object, steps: int) -> float:
    optimizer = torch.optim.Adam(lm.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = lm.forward_loss(make_batch())  # type: ignore[operator]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return lm.evaluate([make_batch() for _ in range(4)])["loss"]  # type: ignore[operator]


def _cyclic_batch() -> TextBatch:
    """Texts that walk the vocabulary 2, 3, …, 23, 2, …: each token fixes its neighbours."""
    starts = torch.randint(0, VOCAB - 2, (8, 1))
    ids = 2 + (starts + torch.arange(12)) % (VOCAB - 2)
    return TextBatch(ids, torch.randint(6, 13, (8,)))


def _random_batch() -> TextBatch:
    """Independent uniform tokens: no direction can beat chance without seeing its target."""
    return TextBatch(torch.randint(2, VOCAB, (8, 12)), torch.randint(6, 13, (8,)))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_both_directions_learn_their_neighbour(bidirectional: bool) -> None:
    torch.manual_seed(0)
    layer = GRU(8, 16, batch_first=True, bidirectional=bidirectional)
    lm = EncoderLM(torch.nn.Embedding(VOCAB, 8), layer)
    assert _fit(lm, _cyclic_batch, steps=150) < 0.2


@pytest.mark.parametrize("bidirectional", [False, True])
def test_no_direction_sees_the_token_it_predicts(bidirectional: bool) -> None:
    torch.manual_seed(0)
    layer = LSTM(8, 16, batch_first=True, bidirectional=bidirectional)
    lm = EncoderLM(torch.nn.Embedding(VOCAB, 8), layer)
    chance = math.log(VOCAB - 2)
    assert _fit(lm, _random_batch, steps=150) > 0.9 * chance


def test_training_the_lm_trains_the_classifier_in_place() -> None:
    torch.manual_seed(0)
    model = TextClassifier(
        ClassifierConfig(embedding_dim=8, encoder=EncoderConfig(cell="gru", hidden_size=16)),
        vocab_size=VOCAB,
        labels=["a", "b"],
    )  # fmt: skip
    before = model.embedding.weight.detach().clone()
    lm = EncoderLM(model.embedding, model.recurrent)
    _fit(lm, _cyclic_batch, steps=3)
    assert not torch.equal(model.embedding.weight, before)
    assert lm.predict(_cyclic_batch()).shape == (8, 12)


def test_a_stacked_bidirectional_encoder_is_refused() -> None:
    layer = GRU(8, 16, num_layers=2, batch_first=True, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional encoder must have 1 layer"):
        EncoderLM(torch.nn.Embedding(VOCAB, 8), layer)
