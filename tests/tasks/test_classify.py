"""The text classifier's own options: word dropout."""

from __future__ import annotations

import pytest
import torch

from rnnkit.tasks.classify import ClassifierConfig, TextBatch, TextClassifier
from rnnkit.tasks.encoder import EncoderConfig


def test_word_dropout_drops_whole_vectors_in_training_only() -> None:
    torch.manual_seed(0)
    encoder = EncoderConfig(cell="gru", hidden_size=6)
    config = ClassifierConfig(encoder=encoder, embedding_dim=8, dropout=0.0, word_dropout=0.5)
    model = TextClassifier(config, vocab_size=20, labels=["a", "b"])
    seen: list[torch.Tensor] = []
    model.recurrent.register_forward_hook(lambda m, args, kwargs_out: seen.append(args[0]))
    batch = TextBatch(torch.randint(1, 20, (4, 50)), torch.full((4,), 50))
    model.train()
    model.logits(batch)
    zero_rows = (seen[-1] == 0).all(-1)  # (B, T) whole vectors dropped
    assert 0.3 < zero_rows.float().mean() < 0.7
    kept = seen[-1][~zero_rows]
    torch.testing.assert_close(kept, 2 * model.embedding(batch.ids)[~zero_rows])  # 1 / (1 − p)
    model.eval()
    model.logits(batch)
    torch.testing.assert_close(seen[-1], model.embedding(batch.ids))
    with pytest.raises(ValueError, match=r"word_dropout must be in \[0, 1\)"):
        ClassifierConfig(word_dropout=1.0)
