"""Language-model pretraining of a text encoder on unlabelled text (Dai & Le 2015; ULMFiT, Howard &
Ruder 2018): the encoder learns what words mean from the text alone, then a task fine-tunes it."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.text import TextBatch

HEAD_CUTOFFS = (2000, 10000)  # adaptive-softmax clusters: the 2,000 most frequent words, then more


def check_encoder_config(config: EncoderConfig) -> None:
    """One clear error if an encoder of this shape cannot be pretrained as a language model."""
    if config.bidirectional and config.num_layers > 1:
        raise ValueError(
            "EncoderLM: a bidirectional encoder must have 1 layer (above it, each direction "
            f"would see the token it predicts), got num_layers={config.num_layers}"
        )


def check_encoder(recurrent: RNN | LSTM | GRU) -> None:
    """One clear error if ``recurrent`` cannot be pretrained as a language model."""
    if recurrent.bidirectional and recurrent.num_layers > 1:
        raise ValueError(
            "EncoderLM: a bidirectional encoder must have 1 layer (above it, each direction "
            f"would see the token it predicts), got num_layers={recurrent.num_layers}"
        )
    if not recurrent.batch_first:
        raise ValueError("EncoderLM: the recurrent layer must be batch_first")


class EncoderLM(TaskModel):
    """An embedding and a recurrent layer trained to predict each next (and previous) token.

    The forward direction's output at position t predicts token t + 1; a backward direction's
    output at t predicts token t − 1 (ELMo's bidirectional LM in one pass: no output has seen
    the token it predicts). A bidirectional encoder must therefore have one layer. Both
    directions share one adaptive softmax (Grave et al. 2017) over the vocabulary, whose indices
    must run from the most to the least frequent token, as :meth:`rnnkit.text.Vocab.build` orders
    them. The embedding and the layer are shared with the caller's model, so training this one
    trains them in place.
    """

    def __init__(
        self,
        embedding: nn.Embedding,
        recurrent: RNN | LSTM | GRU,
        *,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_encoder(recurrent)
        vocab_size = embedding.num_embeddings
        self.embedding, self.recurrent = embedding, recurrent
        self.dropout = nn.Dropout(dropout)
        self.softmax = nn.AdaptiveLogSoftmaxWithLoss(
            recurrent.hidden_size,
            vocab_size,
            cutoffs=[c for c in HEAD_CUTOFFS if c < vocab_size - 1] or [vocab_size - 1],
            div_value=4.0,
        )

    def _features(self, batch: TextBatch) -> tuple[Tensor, Tensor]:
        """Output features (N, H) and the tokens they predict (N,), over every direction."""
        embedded = self.dropout(self.embedding(batch.ids))  # (B, T, E)
        outputs, _ = self.recurrent(embedded, lengths=batch.lengths)  # (B, T, D·H)
        H, ids = self.recurrent.hidden_size, batch.ids
        steps = torch.arange(1, ids.shape[1], device=ids.device)
        has_next = steps.unsqueeze(0) < batch.lengths.to(ids.device).unsqueeze(1)  # (B, T-1)
        features, targets = [outputs[:, :-1, :H][has_next]], [ids[:, 1:][has_next]]
        if self.recurrent.bidirectional:
            features.append(outputs[:, 1:, H:][has_next])
            targets.append(ids[:, :-1][has_next])
        return self.dropout(torch.cat(features)), torch.cat(targets)

    def forward_loss(self, batch: TextBatch) -> Tensor:
        """Mean negative log-likelihood per predicted token."""
        features, targets = self._features(batch)
        if targets.numel() == 0:
            raise ValueError("EncoderLM: the batch has no text of 2 or more tokens")
        loss: Tensor = self.softmax(features, targets).loss
        return loss

    @torch.no_grad()
    def predict(self, batch: TextBatch) -> Tensor:
        """The most likely next token after each position (B, T)."""
        embedded = self.embedding(batch.ids)
        outputs, _ = self.recurrent(embedded, lengths=batch.lengths)
        forward = outputs[..., : self.recurrent.hidden_size]
        return self.softmax.predict(forward.reshape(-1, forward.shape[-1])).view(batch.ids.shape)

    @torch.no_grad()
    def evaluate(self, batches: Iterable[TextBatch]) -> dict[str, float]:
        """Mean loss per predicted token and its perplexity."""
        was_training = self.training
        self.eval()
        total, count = 0.0, 0
        for batch in batches:
            features, targets = self._features(batch)
            if targets.numel():
                total += float(self.softmax(features, targets).loss) * targets.numel()
                count += targets.numel()
        self.train(was_training)
        if count == 0:
            raise ValueError("EncoderLM: evaluate got no text of 2 or more tokens")
        return {"loss": total / count, "perplexity": math.exp(total / count)}
