"""Text classification: embedding → any rnnkit encoder → pooling → dropout → linear; and the
``classify`` task that trains it (sections ``data``, ``model``, ``pretrain``)."""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor, nn

from rnnkit.baselines.result import BaselineResult
from rnnkit.datasets import ClassificationData, Example
from rnnkit.datasets.folds import stratified_kfold
from rnnkit.datasets.user import read_labelled, scheme_format
from rnnkit.metrics import ClassificationReport, classification_report
from rnnkit.nn.pooling import POOLINGS, SequencePooling
from rnnkit.tasks.base import (
    Artifacts,
    Result,
    Stage,
    Task,
    TaskModel,
    register,
    with_folds,
)
from rnnkit.tasks.chunks import read_in_chunks
from rnnkit.tasks.encoder import CELLS, EncoderConfig, build_encoder
from rnnkit.tasks.pretrain import PretrainConfig, load_pretrained_encoder, pretraining_stage
from rnnkit.tasks.text_data import (
    TOKENIZERS,
    DataConfig,
    batches,
    build_vocab,
    encode_split,
    iterate_texts,
    load_dataset,
    special_index,
)
from rnnkit.tasks.vectors import start_embedding
from rnnkit.text import TextBatch
from rnnkit.viz.confusion import plot_confusion

__all__ = ["CELLS", "ClassifierConfig", "ClassifyTask", "TextBatch", "TextClassifier"]

SPLITS = ("train", "val", "test")
# What ``predict`` says of an input with no text, in place of a label (one output per input).
EMPTY_TEXT = "empty text: not labelled"


@dataclass(frozen=True)
class ClassifierConfig:
    """The model's shape; every field has a default."""

    embedding_dim: int = 128  # size of each word vector
    pooling: str = "maxmean"  # last | max | mean | maxmean | attention
    dropout: float = 0.5  # on the embeddings and before the output layer
    word_dropout: float = 0.0  # share of tokens whose whole vector is dropped in training
    chunk_len: int | None = None  # read texts as separate chunks of this many tokens; None: whole
    vectors: str | None = None  # a GloVe/word2vec text file to start the word vectors from
    class_weight: dict[str, float] | str | None = (
        None  # training loss only: balanced (n / (classes · count) on train) or label=w,label=w
    )
    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # the recurrent layers

    def __post_init__(self) -> None:
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
        object.__setattr__(self, "class_weight", parse_class_weight(self.class_weight))


def parse_class_weight(value: object) -> dict[str, float] | str | None:
    """``model.class_weight`` as a config file or flag gives it, in its one stored form: None,
    ``"balanced"``, or a mapping label → weight (from ``{pos = 2.0, neg = 1.0}`` in a config
    file or ``pos=2,neg=1`` on the command line); each weight a finite number > 0."""
    where = "classify: class_weight"
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "balanced":
        return "balanced"
    pairs: list[tuple[object, object]]
    if isinstance(value, str):
        pairs = []
        for item in (part.strip() for part in value.split(",")):
            text, equals, number_text = item.rpartition("=")
            if not equals or not text.strip() or not number_text.strip():
                raise ValueError(
                    f"{where}: expected balanced or label=weight,… (e.g. pos=2,neg=1), got "
                    f"{value!r}"
                )
            pairs.append((text.strip(), number_text.strip()))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ValueError(f"{where}: expected balanced or a mapping label → weight, got {value!r}")
    weights: dict[str, float] = {}
    for label, weight in pairs:
        name = str(label)
        if name in weights:
            raise ValueError(f"{where}: label {name!r} is given twice")
        try:
            number = float(weight) if isinstance(weight, int | float | str) else math.nan
        except ValueError:
            number = math.nan
        if isinstance(weight, bool) or not math.isfinite(number) or number <= 0:
            raise ValueError(f"{where}: the weight of {name!r} must be a number > 0, got {weight}")
        weights[name] = number
    if not weights:
        raise ValueError(f"{where}: expected balanced or label=weight,…, got an empty mapping")
    return weights


def class_weights(
    setting: dict[str, float] | str, labels: Sequence[str], train_labels: Sequence[str]
) -> list[float]:
    """The weight of each of ``labels`` in the training loss.

    ``"balanced"``: ``n_samples / (n_classes · count)`` over the training labels, as
    scikit-learn's ``compute_class_weight`` defines it (n_classes: the labels that occur in
    train; a label with no training text has weight 1, which no loss term ever meets). A
    mapping: the weights it names, 1 for the labels it leaves out; a label the model does not
    have is one error listing the labels.
    """
    if setting == "balanced":
        counts = Counter(train_labels)
        n, present = len(train_labels), sum(1 for label in labels if counts[label])
        return [n / (present * counts[label]) if counts[label] else 1.0 for label in labels]
    if not isinstance(setting, Mapping):
        raise ValueError(f"classify: class_weight must be balanced or a mapping, got {setting!r}")
    unknown = sorted(set(setting) - set(labels))
    if unknown:
        raise ValueError(
            f"model.class_weight: unknown label{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; the labels are: {', '.join(labels)}"
        )
    return [float(setting.get(label, 1.0)) for label in labels]


class TextClassifier(TaskModel):
    """Classifies token-id sequences into ``labels``.

    With ``config.class_weight`` set, the buffer ``class_weight`` (C,) weighs each class in the
    training loss (:meth:`forward_loss`, as ``CrossEntropyLoss(weight=…)``: the weighted mean);
    the task fills it from the training split, and it is saved with the weights. Validation
    loss and every metric stay unweighted.
    """

    class_weight: Tensor | None

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
        self.recurrent = build_encoder(config.encoder, config.embedding_dim)
        self.pooling = SequencePooling(config.pooling, config.encoder.output_size)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(self.pooling.out_features, len(labels))
        weights = torch.ones(len(labels)) if config.class_weight is not None else None
        self.register_buffer("class_weight", weights)

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
        directions = 2 if self.config.encoder.bidirectional else 1
        last = torch.cat(list(h_n[-directions:]), dim=1)  # (B, D·H)
        return self._classify(outputs, batch.lengths, last=last)

    def _classify(self, outputs: Tensor, lengths: Tensor, *, last: Tensor) -> Tensor:
        """Recurrent outputs (B, T, D·H) -> class scores (B, C)."""
        logits: Tensor = self.output(self.dropout(self.pooling(outputs, lengths, last)))
        return logits

    def forward_loss(self, batch: TextBatch) -> Tensor:
        if batch.labels is None:
            raise ValueError("classify: forward_loss needs a batch with labels")
        return F.cross_entropy(self.logits(batch), batch.labels, weight=self.class_weight)

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


def classification_result(
    report: ClassificationReport,
    *,
    dataset: str,
    split: str,
    examples: int,
    loss: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Result:
    """A classification report as a :class:`Result` (accuracy is the main metric)."""
    metrics = {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
    if loss is not None:
        metrics["loss"] = loss
    details = {
        **(extra or {}),
        "per_class": [vars(s) for s in report.per_class],
        "confusion": report.confusion.tolist(),
        "labels": list(report.labels),
    }
    return Result(
        task="classify", dataset=dataset, split=split, main="accuracy", metrics=metrics,
        examples=examples, table=report.table(), details=details,
    )  # fmt: skip


def plot_result(result: Result, folder: Path, *, title: str = "") -> Path:
    """``confusion-<split>.png`` of a classification result."""
    return plot_confusion(
        np.asarray(result.details["confusion"]), result.details["labels"],
        path=folder / f"confusion-{result.split}.png",
        title=f"{result.dataset} {result.split}{title}: accuracy "
        f"{100 * result.metrics['accuracy']:.1f}%",
    )  # fmt: skip


class ClassifyTask(Task):
    """``rnnkit train classify``: labelled texts → one class per text."""

    name: ClassVar[str] = "classify"
    summary: ClassVar[str] = "text classification (20newsgroups, sst2, sst5, your CSV/TSV/JSONL)"
    sections: ClassVar[dict[str, type]] = {
        "data": DataConfig,
        "model": ClassifierConfig,
        "pretrain": PretrainConfig,
    }
    default_monitor: ClassVar[str] = "accuracy"
    record_metrics: ClassVar[tuple[str, ...]] = ("accuracy", "macro_f1")
    input_help: ClassVar[str] = "texts to label"
    baselines: ClassVar[tuple[str, ...]] = ("tfidf",)  # rnnkit.baselines.tfidf (scikit-learn)
    # the default recipe, measured on SST-2 and SST-5 sentences against the trainer's own
    # defaults (benchmarks/results/classify-recipes-2026-12-02.md): +1.9 and +2.6 test points
    trainer_defaults: ClassVar[Mapping[str, Any]] = {
        "epochs": 20, "patience": 4, "lr": 0.002, "schedule": "plateau", "lr_decay": 0.5,
    }  # fmt: skip

    def split_tokens(self, config: Any, data: ClassificationData, split: str) -> list[str]:
        """The tokens of ``split``'s texts as the model reads them (cut to ``data.max_len``)."""
        from rnnkit.tasks.text_data import TOKENIZERS

        tokenize, max_len = TOKENIZERS[config.data.tokens], config.data.max_len
        return [t for e in data.split(split) for t in tokenize(e.text)[:max_len]]

    def check_baseline(self, name: str) -> None:
        from rnnkit.baselines import tfidf

        if name != tfidf.NAME:
            raise ValueError(f"run.baseline: classify has the baseline tfidf (or auto, none), "
                             f"not {name!r}")  # fmt: skip
        tfidf.require_sklearn()

    def train_baseline(self, name: str, config: Any, data: ClassificationData) -> BaselineResult:
        """TF-IDF + LinearSVC (:func:`rnnkit.baselines.tfidf.tfidf_baseline`) on the run's own
        split, ``C`` chosen by the run's monitored metric where it is accuracy or macro-F1."""
        from rnnkit.baselines import tfidf

        self.check_baseline(name)
        monitor = config.trainer.monitor
        return tfidf.tfidf_baseline(
            data, select=monitor if monitor in tfidf.SELECTABLE else "accuracy"
        )

    def check(self, config: Any) -> None:
        if config.model.vectors is not None and config.pretrain.lm_from is not None:
            raise ValueError(
                "model.vectors and pretrain.lm_from both give the embedding its start; use one"
            )
        if config.pretrain.lm_epochs:
            from rnnkit.tasks.encoder_lm import check_encoder_config

            check_encoder_config(config.model.encoder)

    def load_data(self, config: Any) -> ClassificationData:
        return load_dataset(config.data)

    def folds(self, data: ClassificationData, k: int, *, seed: int) -> list[ClassificationData]:
        """Stratified by label: every fold holds each label's share of the training split."""
        labels = [example.label for example in data.train]
        return with_folds(data, stratified_kfold(labels, k, seed=seed))

    def load_file(self, run: Any, location: str | Path, *, config: Any) -> ClassificationData:
        """A labelled file (CSV, TSV, JSONL, a folder per class; ``tsv:PATH`` names the format
        of a file with another suffix) as the test split of a dataset with the run's labels,
        read with ``config.data``'s columns and header (a file without a known suffix in the
        format of the run's own data): ``rnnkit evaluate RUN --data PATH``."""
        data = config.data
        examples = read_labelled(
            location, labels=run.artifacts.labels, owner=f"the run {run.path}",
            text_field=data.text_field, label_field=data.label_field, header=data.header,
            format=scheme_format(data.dataset),
        )  # fmt: skip
        name = Path(str(location)).stem or "file"
        return ClassificationData(
            train=[], val=[], test=examples, labels=list(run.artifacts.labels), name=name
        )

    def build_artifacts(self, config: Any, data: ClassificationData) -> Artifacts:
        lm_from = config.pretrain.lm_from
        if lm_from is not None:  # the pretrained embedding's rows are that run's vocabulary
            vocab = Artifacts.load(Path(lm_from), [Artifacts.MAIN], []).vocabs[Artifacts.MAIN]
        else:
            vocab = build_vocab(data.train, config.data)
        return Artifacts({Artifacts.MAIN: vocab}, list(data.labels))

    def build_model(self, config: Any, artifacts: Artifacts) -> TextClassifier:
        vocab = artifacts.vocabs[Artifacts.MAIN]
        return TextClassifier(
            config.model, vocab_size=len(vocab), labels=artifacts.labels,
            pad_index=special_index(vocab, "pad"),
        )  # fmt: skip

    def batches(
        self, config: Any, artifacts: Artifacts, data: ClassificationData, split: str, *,
        train: bool,
    ) -> Iterable[TextBatch] | None:  # fmt: skip
        vocab = artifacts.vocabs[Artifacts.MAIN]
        encoded = encode_split(data.split(split), vocab, artifacts.labels, config.data)
        if not encoded.ids:
            return None  # no validation split (val_fraction 0): the last epoch is the model
        return batches(
            encoded, batch_size=config.data.batch_size if train else 64, shuffle=train,
            seed=config.trainer.seed, pad_index=special_index(vocab, "pad"),
        )  # fmt: skip

    def stages(self, run: Any, data: ClassificationData, *, resume: bool) -> list[Stage]:
        config, model = run.config, run.model
        if not resume:  # resumed: the checkpoint holds the class weights and the embedding
            start_from_training_split(run, data)
        if config.pretrain.lm_from is not None and not resume:
            load_pretrained_encoder(model, config.pretrain.lm_from)
        if not config.pretrain.lm_epochs:
            return []
        vocab = run.artifacts.vocabs[Artifacts.MAIN]
        encode = lambda split: encode_split(  # noqa: E731
            data.split(split), vocab, run.artifacts.labels, config.data
        )
        stage = pretraining_stage(
            model, encode("train"), encode("val"), config.pretrain,
            seed=config.trainer.seed, pad_index=special_index(vocab, "pad"),
        )  # fmt: skip
        return [stage]

    def evaluate(self, run: Any, data: ClassificationData, split: str) -> Result:
        examples = split_examples(run, split, data)
        loss, report = run.model.report(encoded_batches(run, examples))
        return classification_result(
            report, dataset=self.dataset_name(run.config), split=split,
            examples=len(examples), loss=loss,
        )  # fmt: skip

    def plot_evaluation(self, result: Result, folder: Path) -> list[Path]:
        return [plot_result(result, folder)]

    def predict(self, run: Any, inputs: Sequence[str]) -> list[dict[str, Any]]:
        if isinstance(inputs, str):
            inputs = [inputs]
        if not inputs:
            raise ValueError("predict: no texts given")
        labels = run.artifacts.labels
        filled = [i for i, text in enumerate(inputs) if text.strip()]  # an empty text: a marker
        results: list[dict[str, Any]] = [
            {"text": text, "label": None, "probability": None, "probabilities": None,
             "note": EMPTY_TEXT}
            for text in inputs
        ]  # fmt: skip
        if filled:
            rows = probabilities(run, [inputs[i] for i in filled]).tolist()
            for position, row in zip(filled, rows, strict=True):
                best = max(range(len(row)), key=row.__getitem__)
                results[position] = {
                    "text": inputs[position],
                    "label": labels[best],
                    "probability": row[best],
                    "probabilities": dict(zip(labels, row, strict=True)),
                }
        return results

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        """``label<TAB>probability<TAB>text``; an empty text: empty label and probability
        columns, the text, and the note (``(empty text: not labelled)``)."""
        if prediction["label"] is None:
            return f"\t\t{prediction['text']}\t({prediction['note']})"
        return f"{prediction['label']}\t{prediction['probability']:.3f}\t{prediction['text']}"


def start_from_training_split(run: Any, data: ClassificationData) -> None:
    """What a new classification run takes from its training split before it trains: the class
    weights of the loss (``model.class_weight``) and the embedding's start from a vectors file
    (``model.vectors``, coverage counted on the training tokens); both said on stderr."""
    config, model = run.config, run.model
    labels = run.artifacts.labels
    if config.model.class_weight is not None and model.class_weight is not None:
        weights = class_weights(config.model.class_weight, labels, [e.label for e in data.train])
        model.class_weight.copy_(torch.tensor(weights))
        listed = ", ".join(f"{label} {w:.3g}" for label, w in zip(labels, weights, strict=True))
        print(f"rnnkit: class weights in the training loss: {listed}", file=sys.stderr)
    if config.model.vectors is not None:
        tokenize, max_len = TOKENIZERS[config.data.tokens], config.data.max_len
        counts = Counter(t for e in data.train for t in tokenize(e.text)[:max_len])
        start_embedding(
            model.embedding, config.model.vectors, run.artifacts.vocabs[Artifacts.MAIN],
            run_dir=run.path, dim_setting="model.embedding_dim",
            normalise=str.lower if config.data.tokens == "word" else None, token_counts=counts,
        )  # fmt: skip


def split_examples(run: Any, split: str, data: ClassificationData | None = None) -> list[Example]:
    """The labelled texts of ``split`` of a classification run's dataset; one clear error for an
    unknown split or a label the model never saw."""
    if split not in SPLITS:
        raise ValueError(f"evaluate: split must be one of {', '.join(SPLITS)}, got {split!r}")
    data = data or run.data()
    examples = data.split(split)
    if not examples:
        raise ValueError(f"evaluate: the {split} split of {data.name or 'the data'} is empty")
    unseen = sorted({e.label for e in examples} - set(run.artifacts.labels))
    if unseen:
        raise ValueError(
            f"evaluate: the {split} split has labels the model never saw: {', '.join(unseen)}"
        )
    return examples


def encoded_batches(run: Any, examples: Sequence[Example]) -> list[TextBatch]:
    """``examples`` encoded as the run reads them, in length-bucketed batches of 64."""
    vocab = run.artifacts.vocabs[Artifacts.MAIN]
    encoded = encode_split(examples, vocab, run.artifacts.labels, run.config.data)
    pad = special_index(vocab, "pad")
    return list(batches(encoded, batch_size=64, shuffle=False, seed=0, pad_index=pad))


def probabilities(run: Any, texts: Sequence[str], *, batch_size: int = 64) -> NDArray[np.float64]:
    """Class probabilities (N, C) of ``texts`` by a classification run, in their order."""
    vocab = run.artifacts.vocabs[Artifacts.MAIN]
    result = np.zeros((len(texts), len(run.artifacts.labels)))
    for positions, batch in iterate_texts(texts, vocab, run.config.data, batch_size=batch_size):
        probs = run.model.predict_proba(replace(batch, ids=batch.ids.to(run.model.device)))
        result[positions] = probs.cpu().double().numpy()
    return result


register(ClassifyTask())
