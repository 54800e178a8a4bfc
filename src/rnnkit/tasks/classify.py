"""Text classification: embedding → any rnnkit recurrent layer → pooling → dropout → linear."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.metrics import ClassificationReport, classification_report
from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn.pooling import POOLINGS, SequencePooling
from rnnkit.tasks.base import TaskModel
from rnnkit.tasks.chunks import read_in_chunks

CELLS = ("rnn", "lstm", "gru")


@dataclass
class TextBatch:
    """A padded batch of token ids with their true lengths and (when known) labels."""

    ids: Tensor  # (B, T) int64, padded at the end
    lengths: Tensor  # (B,) int64, each in [1, T]
    labels: Tensor | None = None  # (B,) int64 class indices


@dataclass(frozen=True)
class ClassifierConfig:
    """The model's shape; every field has a default."""

    cell: str = "lstm"  # rnn | lstm | gru
    embedding_dim: int = 128  # size of each word vector
    hidden_size: int = 128  # H of each direction
    num_layers: int = 1  # stacked recurrent layers
    bidirectional: bool = True  # read the text both ways
    pooling: str = "maxmean"  # last | max | mean | maxmean | attention
    dropout: float = 0.5  # on the embeddings and before the output layer
    word_dropout: float = 0.0  # share of tokens whose whole vector is dropped in training
    layer_dropout: float = 0.0  # between stacked recurrent layers
    peephole: bool = False  # LSTM only: peephole connections
    reset_after: bool = True  # GRU only: torch's GRU (True) or Cho et al.'s (False)
    nonlinearity: str = "tanh"  # RNN only: tanh | relu
    backend: str = "auto"  # auto | native | fused | loop
    chunk_len: int | None = None  # read texts as separate chunks of this many tokens; None: whole

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"classify: cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(
                f"classify: pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}"
            )
        for name in ("dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"classify: {name} must be in [0, 1), got {getattr(self, name)}")
        if self.chunk_len is not None:
            if self.chunk_len < 1:
                raise ValueError(f"classify: chunk_len must be ≥ 1 or None, got {self.chunk_len}")
            if self.pooling == "last":
                raise ValueError(
                    "classify: chunk_len needs a pooling over all outputs (max, mean, maxmean, "
                    "attention), not last"
                )


def build_recurrent(config: ClassifierConfig, input_size: int) -> RNN | LSTM | GRU:
    """The rnnkit layer a config describes (batch_first)."""
    H, L = config.hidden_size, config.num_layers
    dropout = config.layer_dropout if L > 1 else 0.0
    bi, backend = config.bidirectional, config.backend
    if config.cell == "lstm":
        return LSTM(
            input_size, H, L, peephole=config.peephole, batch_first=True, dropout=dropout,
            bidirectional=bi, backend=backend,
        )  # fmt: skip
    if config.cell == "gru":
        return GRU(
            input_size, H, L, reset_after=config.reset_after, batch_first=True, dropout=dropout,
            bidirectional=bi, backend=backend,
        )  # fmt: skip
    return RNN(
        input_size, H, L, nonlinearity=config.nonlinearity, batch_first=True, dropout=dropout,
        bidirectional=bi, backend=backend,
    )  # fmt: skip


class TextClassifier(TaskModel):
    """Classifies token-id sequences into ``labels``."""

    def __init__(
        self,
        config: ClassifierConfig,
        *,
        vocab_size: int,
        labels: Sequence[str],
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        if len(labels) < 2:
            raise ValueError(f"classify: need at least 2 labels, got {list(labels)}")
        self.config = config
        self.labels = list(labels)
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=pad_index)
        self.recurrent = build_recurrent(config, config.embedding_dim)
        features = config.hidden_size * (2 if config.bidirectional else 1)
        self.pooling = SequencePooling(config.pooling, features)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(self.pooling.out_features, len(labels))

    def logits(self, batch: TextBatch) -> Tensor:
        """Class scores (B, C)."""
        embedded = self.dropout(self.embedding(batch.ids))  # (B, T, E)
        if self.training and self.config.word_dropout > 0:  # whole vectors (Gal & Ghahramani)
            keep = embedded.new_ones((*embedded.shape[:2], 1))  # (B, T, 1)
            embedded = embedded * F.dropout(keep, self.config.word_dropout)
        if self.config.chunk_len is not None:
            outputs = read_in_chunks(self.recurrent, embedded, batch.lengths, self.config.chunk_len)
            return self._classify(outputs, batch.lengths, last=outputs[:, 0])
        outputs, state = self.recurrent(embedded, lengths=batch.lengths)  # (B, T, D·H)
        h_n = state[0] if isinstance(state, tuple) else state  # (L·D, B, H)
        directions = 2 if self.config.bidirectional else 1
        last = torch.cat(list(h_n[-directions:]), dim=1)  # (B, D·H)
        return self._classify(outputs, batch.lengths, last=last)

    def _classify(self, outputs: Tensor, lengths: Tensor, *, last: Tensor) -> Tensor:
        """Recurrent outputs (B, T, D·H) -> class scores (B, C)."""
        logits: Tensor = self.output(self.dropout(self.pooling(outputs, lengths, last)))
        return logits

    def forward_loss(self, batch: TextBatch) -> Tensor:
        if batch.labels is None:
            raise ValueError("classify: forward_loss needs a batch with labels")
        return F.cross_entropy(self.logits(batch), batch.labels)

    @torch.no_grad()
    def predict(self, batch: TextBatch) -> Tensor:
        """Class indices (B,)."""
        return self.logits(batch).argmax(1)

    @torch.no_grad()
    def predict_proba(self, batch: TextBatch) -> Tensor:
        """Class probabilities (B, C)."""
        return torch.softmax(self.logits(batch), dim=1)

    @torch.no_grad()
    def report(self, batches: Iterable[TextBatch]) -> tuple[float, ClassificationReport]:
        """(mean loss, full classification report) over ``batches``."""
        was_training = self.training
        self.eval()
        device = self.device
        total_loss, count, truth, guesses = 0.0, 0, [], []
        for batch in batches:
            ids, lengths = batch.ids.to(device), batch.lengths.to(device)
            if batch.labels is None:
                raise ValueError("classify: evaluate needs batches with labels")
            labels = batch.labels.to(device)
            logits = self.logits(TextBatch(ids, lengths))
            total_loss += float(F.cross_entropy(logits, labels, reduction="sum"))
            count += len(labels)
            truth.append(labels.cpu().numpy())
            guesses.append(logits.argmax(1).cpu().numpy())
        self.train(was_training)
        if count == 0:
            raise ValueError("classify: evaluate got no batches")
        report = classification_report(np.concatenate(truth), np.concatenate(guesses), self.labels)
        return total_loss / count, report

    def evaluate(self, batches: Iterable[TextBatch]) -> dict[str, float]:
        loss, report = self.report(batches)
        return {"loss": loss, "accuracy": report.accuracy, "macro_f1": report.macro_f1}
