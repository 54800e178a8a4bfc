"""Reading texts in chunks: each chunk is read alone, outputs land at their tokens' places."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import GRU, LSTM
from rnnkit.tasks.chunks import chunk_lengths, read_in_chunks
from rnnkit.tasks.classify import ClassifierConfig, TextBatch, TextClassifier
from rnnkit.tasks.encoder import EncoderConfig


def test_chunk_lengths_cover_each_text_exactly() -> None:
    lengths = torch.tensor([7, 3, 1])
    got = chunk_lengths(lengths, steps=7, chunk_len=3)
    assert got.tolist() == [[3, 3, 1], [3, 0, 0], [1, 0, 0]]
    assert got.sum(1).tolist() == lengths.tolist()


@pytest.mark.parametrize("layer_type", [LSTM, GRU])
def test_each_chunk_is_read_on_its_own(layer_type: type) -> None:
    torch.manual_seed(0)
    layer = layer_type(5, 4, batch_first=True, bidirectional=True).double()
    x = torch.randn(3, 11, 5, dtype=torch.double)
    lengths = torch.tensor([11, 6, 2])
    got = read_in_chunks(layer, x, lengths, chunk_len=4)
    assert got.shape == (3, 11, 8)
    for b, length in enumerate(lengths.tolist()):
        for start in range(0, length, 4):
            stop = min(start + 4, length)
            alone, _ = layer(x[b : b + 1, start:stop])
            torch.testing.assert_close(got[b : b + 1, start:stop], alone)
        assert got[b, length:].abs().sum() == 0


def test_one_chunk_longer_than_the_text_is_the_plain_layer() -> None:
    torch.manual_seed(0)
    layer = GRU(5, 4, batch_first=True, bidirectional=True).double()
    x, lengths = torch.randn(2, 6, 5, dtype=torch.double), torch.tensor([6, 4])
    expected, _ = layer(x, lengths=lengths)
    torch.testing.assert_close(read_in_chunks(layer, x, lengths, chunk_len=50), expected)


def test_gradients_reach_every_real_token_and_no_padding() -> None:
    torch.manual_seed(0)
    layer = LSTM(3, 2, batch_first=True, bidirectional=True).double()
    x = torch.randn(2, 7, 3, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([7, 5])
    read_in_chunks(layer, x, lengths, chunk_len=3).sum().backward()
    assert x.grad is not None
    assert (x.grad[0].abs().sum(1) > 0).all() and (x.grad[1, :5].abs().sum(1) > 0).all()
    assert x.grad[1, 5:].abs().sum() == 0


def test_a_chunked_classifier_trains_and_rejects_last_pooling() -> None:
    config = ClassifierConfig(
        embedding_dim=8, chunk_len=4, encoder=EncoderConfig(cell="gru", hidden_size=6)
    )
    model = TextClassifier(config, vocab_size=20, labels=["a", "b"])
    batch = TextBatch(
        torch.randint(1, 20, (3, 10)), torch.tensor([10, 7, 2]), torch.tensor([0, 1, 0])
    )
    model.forward_loss(batch).backward()
    assert model.recurrent.weight_hh_l0.grad is not None
    with pytest.raises(ValueError, match="chunk_len needs a pooling over all outputs"):
        ClassifierConfig(pooling="last", chunk_len=10)
    with pytest.raises(ValueError, match="chunk_len must be ≥ 1"):
        ClassifierConfig(chunk_len=0)
