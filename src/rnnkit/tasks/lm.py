"""Language modelling: embedding → a stack of rnnkit recurrent layers → a decoder over the
vocabulary, trained by truncated BPTT with the state carried across batches; and the ``lm`` task
that trains it on words (perplexity) or characters (bits per character).

The AWD-LSTM toolbox (Merity et al. 2018) is a set of options: embedding dropout, locked
(variational) dropout on the embeddings, between layers (``encoder.layer_dropout``) and on the
output, DropConnect on the recurrent weights (``encoder.weight_drop``), zoneout
(``encoder.zoneout``), activation regularisation (AR) and temporal AR (TAR), weight tying, and
NT-ASGD (``trainer.optimizer``). With them off it is Zaremba et al. 2014's model.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.datasets import CorpusData
from rnnkit.datasets.corpora import DATASET_LEVELS
from rnnkit.datasets.folds import contiguous_kfold
from rnnkit.nn import (
    LockedDropout,
    activation_penalty,
    embedding_dropout,
    temporal_activation_penalty,
)
from rnnkit.tasks.base import (
    Artifacts,
    Result,
    Task,
    TaskModel,
    held_split,
    move_to,
    register,
    with_folds,
)
from rnnkit.tasks.encoder import EncoderConfig, build_encoder
from rnnkit.tasks.lm_data import LMBatch, LMDataConfig, StreamBatches, build_vocab, encode
from rnnkit.tasks.lm_data import load_corpus as _load_corpus

__all__ = ["LMConfig", "LMTask", "LanguageModel", "State", "detach_state"]

State = list[Any]  # one per layer: h (1, B, H), or (h, c) for an LSTM


@dataclass(frozen=True)
class LMConfig:
    """The language model's shape and regularisers; every field has a default (Zaremba et al.'s
    small model: 2 × 200 LSTM, no dropout)."""

    embedding_dim: int = 200  # size of each token vector
    tie_weights: bool = False  # the decoder shares the embedding matrix (Press & Wolf 2017)
    dropout: float = 0.0  # locked dropout on the top layer's output (AWD-LSTM's dropout)
    input_dropout: float = 0.0  # locked dropout on the token vectors (AWD-LSTM's dropouti)
    embedding_dropout: float = 0.0  # share of word types dropped per batch (AWD's dropoute)
    ar: float = 0.0  # activation regularisation α (AWD-LSTM: 2)
    tar: float = 0.0  # temporal activation regularisation β (AWD-LSTM: 1)
    init_range: float = 0.1  # embedding and decoder weights start uniform in ±init_range
    encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(hidden_size=200, num_layers=2, bidirectional=False)
    )  # the recurrent layers; layer_dropout is locked dropout between them (AWD's dropouth)

    def __post_init__(self) -> None:
        if self.embedding_dim < 1:
            raise ValueError(f"lm: embedding_dim must be ≥ 1, got {self.embedding_dim}")
        for name in ("dropout", "input_dropout", "embedding_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"lm: {name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("ar", "tar", "init_range"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(
                    f"lm: {name} must be a finite number ≥ 0, got {getattr(self, name)}"
                )
        if self.encoder.bidirectional:
            raise ValueError(
                "lm: a language model reads left to right; set model.encoder.bidirectional "
                "false (--no-bidirectional)"
            )


def detach_state(state: Any) -> Any:
    """``state`` (tensors, tuples, lists of them) cut from the graph."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    return state


class LanguageModel(TaskModel):
    """Predicts each next token of contiguous streams, carrying its state across batches.

    Args:
        config: the model section.
        vocab_size: V, the decoder's outputs.
        level: ``"word"`` (metrics: loss, perplexity) or ``"char"`` (loss, bits per character).

    The state of the last training batch is kept in ``carried`` (cut from the graph after each
    optimizer step by :meth:`end_step`, dropped at each epoch's start by :meth:`start_epoch`), so
    row b of one batch continues from where row b of the previous batch ended.
    """

    def __init__(self, config: LMConfig, vocab_size: int, *, level: str) -> None:
        super().__init__()
        self.config, self.level, self.vocab_size = config, level, vocab_size
        encoder, E = config.encoder, config.embedding_dim
        self.embedding = nn.Embedding(vocab_size, E)
        single = replace(encoder, num_layers=1, layer_dropout=0.0)
        self.layers = nn.ModuleList(
            build_encoder(single, E if i == 0 else encoder.hidden_size)
            for i in range(encoder.num_layers)
        )
        self.input_dropout = LockedDropout(config.input_dropout)
        self.hidden_dropout = LockedDropout(encoder.layer_dropout)
        self.output_dropout = LockedDropout(config.dropout)
        top = encoder.hidden_size
        self.projection = nn.Linear(top, E) if config.tie_weights and top != E else None
        self.decoder = nn.Linear(E if config.tie_weights else top, vocab_size)
        r = config.init_range
        nn.init.uniform_(self.embedding.weight, -r, r)
        nn.init.uniform_(self.decoder.weight, -r, r)
        nn.init.zeros_(self.decoder.bias)
        if config.tie_weights:
            self.decoder.weight = self.embedding.weight
        self.carried: State | None = None

    # -- the network -------------------------------------------------------------------------

    def run(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State, Tensor, Tensor]:
        """ids (B, T) → (logits (B, T, V), the final state, the top layer's output (B, T, H)
        before and after its dropout)."""
        x = embedding_dropout(
            self.embedding, ids, self.config.embedding_dropout, training=self.training
        )
        x = self.input_dropout(x)
        final: State = []
        for index, layer in enumerate(self.layers):
            x, layer_state = layer(x, None if state is None else state[index])
            final.append(layer_state)
            if index < len(self.layers) - 1:
                x = self.hidden_dropout(x)
        raw = x
        dropped = self.output_dropout(raw)
        features = dropped if self.projection is None else self.projection(dropped)
        return self.decoder(features), final, raw, dropped

    def forward_tokens(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """ids (B, T) → (logits (B, T, V), the state after the last token)."""
        logits, final, _, _ = self.run(ids, state)
        return logits, final

    # -- the TaskModel contract --------------------------------------------------------------

    def start_epoch(self, *, train: bool) -> None:
        self.carried = None

    def end_step(self) -> None:
        self.carried = detach_state(self.carried)

    def _carried_for(self, batch: LMBatch) -> State | None:
        state = self.carried
        if state is None:
            return None
        first = state[0][0] if isinstance(state[0], tuple) else state[0]
        return state if first.shape[1] == batch.inputs.shape[0] else None

    def forward_loss(self, batch: LMBatch) -> tuple[Tensor, int]:
        """(the batch's summed negative log-likelihood, plus AR/TAR per token, its tokens)."""
        logits, final, raw, dropped = self.run(batch.inputs, self._carried_for(batch))
        self.carried = final
        count = batch.targets.numel()
        loss = F.cross_entropy(
            logits.reshape(-1, self.vocab_size), batch.targets.reshape(-1), reduction="sum"
        )
        cfg = self.config
        if cfg.ar:
            loss = loss + activation_penalty(dropped, cfg.ar) * count
        if cfg.tar:
            loss = loss + temporal_activation_penalty(raw, cfg.tar) * count
        return loss * batch.scale, count

    @torch.no_grad()
    def predict(self, batch: LMBatch) -> Tensor:
        """The most likely next token after each position (B, T)."""
        logits, _ = self.forward_tokens(batch.inputs)
        return logits.argmax(-1)

    @torch.no_grad()
    def loss_over(self, batches: Iterable[LMBatch]) -> tuple[float, int]:
        """(summed negative log-likelihood, tokens) over contiguous ``batches``, the state carried
        from each batch to the next, fresh at the start."""
        total, count, state = 0.0, 0, None
        for batch in batches:
            logits, state = self.forward_tokens(batch.inputs, state)
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, self.vocab_size), batch.targets.reshape(-1),
                    reduction="sum",
                )
            )  # fmt: skip
            count += batch.targets.numel()
        if count == 0:
            raise ValueError("lm: evaluate got no batches")
        return total, count

    def metrics(self, loss: float) -> dict[str, float]:
        """``loss`` (nats per token) with perplexity (words) or bits per character."""
        if self.level == "char":
            return {"loss": loss, "bpc": loss / math.log(2)}
        return {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}

    @torch.no_grad()
    def evaluate(self, batches: Iterable[LMBatch]) -> dict[str, float]:
        total, count = self.loss_over(batches)
        return self.metrics(total / count)


def corpus_level(config: Any) -> str:
    """``word`` or ``char``: what a token of the configured dataset is."""
    dataset = str(config.data.dataset)
    if dataset.startswith("text:"):
        return str(config.data.level)
    return DATASET_LEVELS.get(dataset, "word")


class LMTask(Task):
    """``rnnkit train lm``: next-token prediction, scored by perplexity or bits per character."""

    name: ClassVar[str] = "lm"
    summary: ClassVar[str] = (
        "language modelling and text generation: words (ptb, wikitext-2), characters (ptb-char, "
        "tinyshakespeare) or your own text (text:PATH)"
    )
    sections: ClassVar[dict[str, type]] = {"data": LMDataConfig, "model": LMConfig}
    default_monitor: ClassVar[str] = "loss"
    record_metrics: ClassVar[tuple[str, ...]] = ("perplexity", "bpc", "loss")
    input_help: ClassVar[str] = "prompts whose most likely next tokens to show"
    example_unit: ClassVar[str] = "tokens"

    def load_data(self, config: Any) -> CorpusData:
        return _load_corpus(config.data)

    def folds(self, data: CorpusData, k: int, *, seed: int) -> list[CorpusData]:
        """Contiguous blocks of the training stream (its order is the context the model learns),
        each cut just after a line's end where there is one nearby; a fold trains on the blocks
        before and after its own, joined. No randomness: ``seed`` is not used."""
        stream = data.train
        ends = "\n" if data.eos is None else data.eos
        breaks = [i + 1 for i, token in enumerate(stream) if token == ends]
        return with_folds(data, contiguous_kfold(len(stream), k, breaks=breaks))

    def build_artifacts(self, config: Any, data: CorpusData) -> Artifacts:
        return Artifacts({"tokens": build_vocab(data, config.data)}, [])

    def build_model(self, config: Any, artifacts: Artifacts) -> LanguageModel:
        vocab = artifacts.vocabs["tokens"]
        return LanguageModel(config.model, len(vocab), level=corpus_level(config))

    def batches(
        self, config: Any, artifacts: Artifacts, data: CorpusData, split: str, *, train: bool
    ) -> StreamBatches | None:
        tokens = data.split(split)
        if not tokens:
            return None
        cfg = config.data
        ids = encode(tokens, artifacts.vocabs["tokens"])
        if train:
            return StreamBatches(
                ids, batch_size=cfg.batch_size, bptt=cfg.bptt, variable=cfg.variable_bptt,
                seed=config.trainer.seed,
            )  # fmt: skip
        return StreamBatches(ids, batch_size=cfg.eval_batch_size, bptt=cfg.bptt)

    def evaluate(self, run: Any, data: CorpusData, split: str) -> Result:
        name = data.name or self.dataset_name(run.config)
        tokens = held_split(data, split, name)
        cfg = run.config.data
        ids = encode(tokens, run.artifacts.vocabs["tokens"])
        batches = StreamBatches(ids, batch_size=cfg.test_batch_size, bptt=cfg.bptt)
        model: LanguageModel = run.model
        device = model.device
        total, count = model.loss_over(move_to(b, device) for b in batches)
        metrics = model.metrics(total / count)
        main = "bpc" if model.level == "char" else "perplexity"
        rows = batches.rows.shape[0]
        table = "\n".join(
            [f"{name} {split}: {count:,} {'characters' if model.level == 'char' else 'tokens'} "
             f"read as {rows} contiguous row{'s' if rows > 1 else ''}, state carried across "
             f"batches of {run.config.data.bptt}"]
            + [f"  {key:<11}{value:.4f}" for key, value in metrics.items()]
        )  # fmt: skip
        return Result(
            task=self.name, dataset=name, split=split, main=main, metrics=metrics,
            examples=count, table=table,
            details={"tokens": count, "rows": rows, "bptt": run.config.data.bptt},
        )  # fmt: skip

    def predict(self, run: Any, inputs: Sequence[str]) -> list[dict[str, Any]]:
        from rnnkit.tasks.generation import TextGenerator  # it builds on this module

        if isinstance(inputs, str):
            inputs = [inputs]
        if not inputs:
            raise ValueError("predict: no prompts given")
        results = []
        for prompt in inputs:
            generator = TextGenerator.from_run(run, warn=sys.stderr)
            generator.feed(prompt)
            results.append({"text": prompt, "next": generator.most_likely(5)})
        return results

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        shown = ", ".join(f"{token!r} {p:.3f}" for token, p in prediction["next"])
        return f"{prediction['text']} → {shown}"


register(LMTask())
