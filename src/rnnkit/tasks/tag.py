"""Sequence tagging (named entities, chunks, semantic roles): word embedding (+ casing, +
character BiLSTM or CNN, + extra feature embeddings) → any rnnkit encoder → a linear-chain CRF or
a softmax per token; and the ``tag`` task that trains it (Lample et al. 2016; Ma & Hovy 2016).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.datasets import TaggingData
from rnnkit.metrics.entities import entity_report
from rnnkit.nn import CRF, LSTM
from rnnkit.tasks.base import Artifacts, Result, Stage, Task, TaskModel, move_to, register
from rnnkit.tasks.encoder import EncoderConfig, build_encoder
from rnnkit.tasks.tag_data import (
    CASINGS,
    EncodedSentence,
    TagBatch,
    TagDataConfig,
    encode_sentence,
    in_order,
    load_tagging_data,
    model_tags,
    sentence_batches,
    tokenize_sentence,
    word_form,
)
from rnnkit.tasks.vectors import start_embedding
from rnnkit.text import Vocab
from rnnkit.text.tags import allowed_transitions, convert, spans

__all__ = ["CHAR_MODELS", "DECODERS", "SequenceTagger", "TagTask", "TaggerConfig"]

CHAR_MODELS = ("lstm", "cnn", "none")
DECODERS = ("crf", "softmax")
EMPTY_SENTENCE = "empty sentence: not tagged"  # the note of a blank input line


@dataclass(frozen=True)
class TaggerConfig:
    """The tagger's shape; every field has a default."""

    word_dim: int = 100  # size of each word vector
    vectors: str | None = None  # a GloVe/word2vec text file to start the word vectors from
    casing_dim: int = 8  # size of the casing-class vector; 0: no casing feature
    char: str = "lstm"  # character features of each word: lstm | cnn | none
    char_dim: int = 25  # size of each character vector
    char_hidden: int = 25  # char BiLSTM: H per direction; char CNN: filters (width 3)
    feature_dim: int = 16  # size of the vector of each extra feature column (POS, chunk)
    dropout: float = 0.5  # on the word representation and on the encoder's output
    word_dropout: float = 0.05  # share of training words replaced by <unk>
    decoder: str = "crf"  # crf | softmax
    constraints: bool = True  # CRF only: forbid the tag scheme's invalid moves
    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # the recurrent layers

    def __post_init__(self) -> None:
        if self.char not in CHAR_MODELS:
            raise ValueError(
                f"tag: char must be one of {', '.join(CHAR_MODELS)}, got {self.char!r}"
            )
        if self.decoder not in DECODERS:
            raise ValueError(
                f"tag: decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}"
            )
        for name in ("dropout", "word_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"tag: {name} must be in [0, 1), got {getattr(self, name)}")


class CharCNN(nn.Module):
    """Max-pooled width-3 convolution over each word's character vectors (Ma & Hovy 2016)."""

    def __init__(self, dim: int, filters: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, filters, kernel_size=3, padding=1)
        self.out_features = filters

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        """chars (N, C, dim), lengths (N,) -> (N, filters)."""
        hidden = self.conv(chars.transpose(1, 2))  # (N, filters, C)
        steps = torch.arange(chars.shape[1], device=chars.device)
        valid = (steps.unsqueeze(0) < lengths.to(chars.device).unsqueeze(1)).unsqueeze(1)
        pooled: Tensor = hidden.masked_fill(~valid, float("-inf")).amax(2)
        return pooled


class CharLSTM(nn.Module):
    """A character BiLSTM per word: both directions' final states (Lample et al. 2016)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.lstm = LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.out_features = 2 * hidden

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        """chars (N, C, dim), lengths (N,) -> (N, 2·hidden)."""
        _, (h_n, _) = self.lstm(chars, lengths=lengths)  # h_n (2, N, H)
        return torch.cat([h_n[0], h_n[1]], dim=1)


class SequenceTagger(TaskModel):
    """Tags each word of a sentence with one of ``tags`` (in the model's scheme)."""

    def __init__(
        self,
        config: TaggerConfig,
        *,
        vocabs: Mapping[str, Vocab],
        tags: Sequence[str],
        scheme: str,
        source_scheme: str,
    ) -> None:
        super().__init__()
        self.config, self.tags = config, list(tags)
        self.scheme, self.source_scheme = scheme, source_scheme
        words = vocabs["tokens"]
        self.unk_index = words.unk_index if words.unk_index is not None else 0
        self.embedding = nn.Embedding(len(words), config.word_dim, padding_idx=0)
        size = config.word_dim
        self.casing = None
        if config.casing_dim:
            self.casing = nn.Embedding(len(CASINGS), config.casing_dim, padding_idx=0)
            size += config.casing_dim
        self.char_embedding, self.char_model = None, None
        if config.char != "none":
            self.char_embedding = nn.Embedding(len(vocabs["chars"]), config.char_dim, padding_idx=0)
            model = CharLSTM if config.char == "lstm" else CharCNN
            self.char_model = model(config.char_dim, config.char_hidden)
            size += self.char_model.out_features
        feature_vocabs = sorted(
            (n for n in vocabs if n.startswith("feature")), key=lambda n: int(n[7:])
        )
        self.features = nn.ModuleList(
            nn.Embedding(len(vocabs[n]), config.feature_dim, padding_idx=0) for n in feature_vocabs
        )
        size += config.feature_dim * len(self.features)
        self.dropout = nn.Dropout(config.dropout)
        self.recurrent = build_encoder(config.encoder, size)
        self.output = nn.Linear(config.encoder.output_size, len(self.tags))
        self.crf: CRF | None = None
        if config.decoder == "crf":
            allowed: dict[str, Tensor] = {}
            if config.constraints:
                start, moves, end = allowed_transitions(self.tags, scheme)
                allowed = {
                    "allowed_start": torch.as_tensor(start), "allowed_transitions":
                    torch.as_tensor(moves), "allowed_end": torch.as_tensor(end),
                }  # fmt: skip
            self.crf = CRF(len(self.tags), **allowed)

    def emissions(self, batch: TagBatch) -> Tensor:
        """Tag scores per word (B, T, K)."""
        words = batch.words
        if self.training and self.config.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop & (words != 0), self.unk_index)
        parts = [self.embedding(words)]  # (B, T, E)
        if self.casing is not None:
            parts.append(self.casing(batch.casing))
        if self.char_model is not None and self.char_embedding is not None:
            per_word = self.char_model(self.char_embedding(batch.chars), batch.char_lengths)
            mask = batch.mask  # (B, T)
            placed = per_word.new_zeros((*mask.shape, per_word.shape[1]))  # (B, T, Fc)
            placed[mask] = per_word  # words in batch order fill the real positions
            parts.append(placed)
        for index, embedding in enumerate(self.features):
            parts.append(embedding(batch.features[index]))
        x = self.dropout(torch.cat(parts, dim=2))  # (B, T, D_in)
        outputs, _ = self.recurrent(x, lengths=batch.lengths)  # (B, T, D·H)
        scores: Tensor = self.output(self.dropout(outputs))
        return scores

    def forward_loss(self, batch: TagBatch) -> tuple[Tensor, Tensor]:
        """(negative log-likelihood summed over the batch, number of words)."""
        if batch.tags is None:
            raise ValueError("tag: forward_loss needs a batch with tags")
        scores, mask = self.emissions(batch), batch.mask
        words = mask.sum()
        if self.crf is not None:
            return self.crf(scores, batch.tags, mask, reduction="sum"), words
        loss = F.cross_entropy(scores[mask], batch.tags[mask], reduction="sum")
        return loss, words

    @torch.no_grad()
    def predict(self, batch: TagBatch) -> list[list[int]]:
        """Tag indices of each sentence (its true length)."""
        scores, mask = self.emissions(batch), batch.mask
        best = self.crf.viterbi(scores, mask)[0] if self.crf is not None else scores.argmax(2)
        return [row[:n].tolist() for row, n in zip(best.cpu(), batch.lengths.tolist(), strict=True)]

    @torch.no_grad()
    def nbest(self, batch: TagBatch, n: int) -> tuple[Tensor, Tensor]:
        """The ``n`` best tag sequences (B, n, T) and their log-probabilities (B, n) (CRF)."""
        if self.crf is None:
            raise ValueError("tag: n-best decoding needs the CRF decoder")
        scores, mask = self.emissions(batch), batch.mask
        paths, path_scores = self.crf.nbest(scores, mask, n)
        return paths, path_scores - self.crf.log_partition(scores, mask).unsqueeze(1)

    def source_tags(self, indices: Sequence[int]) -> list[str]:
        """Tag indices as tags of the dataset's scheme."""
        return convert([self.tags[i] for i in indices], self.scheme, self.source_scheme)

    @torch.no_grad()
    def evaluate(self, batches: Iterable[TagBatch]) -> dict[str, float]:
        """Loss per word, entity-level F1 (conlleval), precision, recall, token accuracy."""
        total, words, gold, guessed = 0.0, 0, [], []
        for batch in batches:
            loss, count = self.forward_loss(batch)
            total, words = total + float(loss), words + int(count)
            assert batch.tags is not None
            for row, n, tags in zip(batch.tags.cpu(), batch.lengths.tolist(), self.predict(batch),
                                    strict=True):  # fmt: skip
                gold.append(self.source_tags(row[:n].tolist()))
                guessed.append(self.source_tags(tags))
        if words == 0:
            raise ValueError("tag: evaluate got no batches")
        report = entity_report(gold, guessed)
        return {
            "loss": total / words, "f1": report.f1, "precision": report.precision,
            "recall": report.recall, "token_accuracy": report.accuracy,
        }  # fmt: skip


class TagTask(Task):
    """``rnnkit train tag``: a tag per word, scored by entity-level F1 as conlleval does."""

    name: ClassVar[str] = "tag"
    summary: ClassVar[str] = "sequence tagging: named entities (conll2003) or your column files"
    sections: ClassVar[dict[str, type]] = {"data": TagDataConfig, "model": TaggerConfig}
    default_monitor: ClassVar[str] = "f1"
    record_metrics: ClassVar[tuple[str, ...]] = ("f1",)
    vocab_names: ClassVar[tuple[str, ...]] = ("tokens", "chars")
    input_help: ClassVar[str] = "sentences to tag"
    example_unit: ClassVar[str] = "sentences"

    def load_data(self, config: Any) -> TaggingData:
        return load_tagging_data(config.data)

    def build_artifacts(self, config: Any, data: TaggingData) -> Artifacts:
        cfg = config.data
        train = data.train
        vocabs = {
            "tokens": Vocab.build(
                ([word_form(t, cfg) for t in s.tokens] for s in train), min_freq=cfg.min_freq,
                max_size=cfg.max_vocab,
            ),
            "chars": Vocab.build(list(t) for s in train for t in s.tokens),
        }  # fmt: skip
        for i in range(len(data.feature_names)):
            vocabs[f"feature{i}"] = Vocab.build(s.features[i] for s in train)
        tags = sorted({t for s in train for t in model_tags(s, data.scheme, cfg)})
        tags.sort(key=lambda t: (t != "O", t.partition("-")[2], t))
        return Artifacts(vocabs, tags)

    def _source_scheme(self, config: Any) -> str:
        return "iob1" if config.data.dataset == "conll2003" else str(config.data.source_scheme)

    def build_model(self, config: Any, artifacts: Artifacts) -> SequenceTagger:
        model = SequenceTagger(
            config.model, vocabs=artifacts.vocabs, tags=artifacts.labels,
            scheme=config.data.scheme, source_scheme=self._source_scheme(config),
        )  # fmt: skip
        return model

    def stages(self, run: Any, data: TaggingData, *, resume: bool) -> list[Stage]:
        vectors, cfg = run.config.model.vectors, run.config.data
        if vectors is not None and not resume:  # resumed: the checkpoint holds the embedding
            counts = Counter(word_form(t, cfg) for s in data.train for t in s.tokens)
            start_embedding(
                run.model.embedding, vectors, run.artifacts.vocabs["tokens"], run_dir=run.path,
                dim_setting="model.word_dim", normalise=lambda w: word_form(w, cfg),
                token_counts=counts,
            )  # fmt: skip
        return []

    def encoded(
        self, config: Any, artifacts: Artifacts, data: TaggingData, split: str
    ) -> list[EncodedSentence]:
        index = {t: i for i, t in enumerate(artifacts.labels)}
        sentences = data.split(split)
        out = []
        for s in sentences:
            tags = model_tags(s, data.scheme, config.data)
            unknown = [t for t in tags if t not in index]
            if unknown:
                raise ValueError(
                    f"tag: the {split} split has the tag {unknown[0]} (in the {config.data.scheme} "
                    "scheme) that the training split never has; the model cannot predict it"
                )
            out.append(
                encode_sentence(
                    s.tokens,
                    artifacts.vocabs,
                    config.data,
                    features=s.features,
                    tags=tags,
                    tag_index=index,
                )
            )
        return out

    def batches(
        self, config: Any, artifacts: Artifacts, data: TaggingData, split: str, *, train: bool
    ) -> Iterable[TagBatch] | None:
        sentences = self.encoded(config, artifacts, data, split)
        if not sentences:
            return None
        return sentence_batches(
            sentences, batch_size=config.data.batch_size if train else 64, shuffle=train,
            seed=config.trainer.seed,
        )  # fmt: skip

    def evaluate(self, run: Any, data: TaggingData, split: str) -> Result:
        model: SequenceTagger = run.model
        sentences = self.encoded(run.config, run.artifacts, data, split)
        gold_sentences = data.split(split)
        guesses: list[list[str]] = [[] for _ in sentences]
        total, words = 0.0, 0
        with torch.no_grad():
            for positions, batch in in_order(sentences, 64):
                batch = _to(batch, model.device)
                loss, count = model.forward_loss(batch)
                total, words = total + float(loss), words + int(count)
                for position, tags in zip(positions, model.predict(batch), strict=True):
                    guesses[position] = model.source_tags(tags)
        gold = [list(s.tags) for s in gold_sentences]
        report = entity_report(gold, guesses)
        metrics = {
            "f1": report.f1, "precision": report.precision, "recall": report.recall,
            "token_accuracy": report.accuracy, "loss": total / max(1, words),
        }  # fmt: skip
        details = {"per_type": [list(t) for t in report.per_type], "tokens": words}
        return Result(
            task=self.name, dataset=data.name or self.dataset_name(run.config), split=split,
            main="f1", metrics=metrics, examples=len(sentences), table=report.table(),
            details=details,
        )  # fmt: skip

    def predict(self, run: Any, inputs: Sequence[str]) -> list[dict[str, Any]]:
        if isinstance(inputs, str):
            inputs = [inputs]
        if not inputs:
            raise ValueError("predict: no sentences given")
        model: SequenceTagger = run.model
        if run.artifacts.vocabs.keys() - {"tokens", "chars"}:
            raise ValueError(
                "predict: this tagger reads extra feature columns (data.features); tag a column "
                "file with rnnkit evaluate RUN instead"
            )
        token_lists = [tokenize_sentence(text) for text in inputs]
        filled = [i for i, tokens in enumerate(token_lists) if tokens]  # an empty one is marked
        encoded = [
            encode_sentence(token_lists[i], run.artifacts.vocabs, run.config.data) for i in filled
        ]
        tags: list[list[str]] = [[] for _ in inputs]
        with torch.no_grad():
            for positions, batch in in_order(encoded, 64):
                for position, indices in zip(positions, model.predict(_to(batch, model.device)),
                                             strict=True):  # fmt: skip
                    tags[filled[position]] = model.source_tags(indices)
        results: list[dict[str, Any]] = []
        for text, tokens, row in zip(inputs, token_lists, tags, strict=True):
            if not tokens:
                results.append(
                    {"text": text, "tokens": [], "tags": [], "entities": [], "note": EMPTY_SENTENCE}
                )
                continue
            offsets = _offsets(text, tokens)
            entities = [
                {
                    "text": text[offsets[start][0] : offsets[end - 1][1]],
                    "type": kind,
                    "start": offsets[start][0],
                    "end": offsets[end - 1][1],
                    "tokens": [start, end],
                }
                for kind, start, end in spans(row, model.source_scheme)
            ]
            results.append({"text": text, "tokens": tokens, "tags": row, "entities": entities})
        return results

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        if "note" in prediction:
            return f"({prediction['note']})\t{prediction['text']}"
        found = "; ".join(
            f"{e['text']} [{e['type']}] {e['start']}-{e['end']}" for e in prediction["entities"]
        )
        return f"{found or '(no entities)'}\t{prediction['text']}"

    def split_tokens(self, config: Any, data: TaggingData, split: str) -> list[str]:
        """The words of ``split`` as the word vocabulary sees them (:func:`word_form`)."""
        return [word_form(t, config.data) for s in data.split(split) for t in s.tokens]


def _offsets(text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Character (start, end) of each token in ``text``, searched left to right."""
    out, at = [], 0
    for token in tokens:
        start = text.find(token, at)
        if start < 0:  # the tokenizer changed the token; keep the position
            start = at
        out.append((start, start + len(token)))
        at = start + len(token)
    return out


def _to(batch: TagBatch, device: torch.device) -> TagBatch:
    moved: TagBatch = move_to(batch, device)
    return moved


register(TagTask())
