"""``rnnkit train seq2seq``: translation with an encoder–decoder and attention (Sutskever et al.
2014; Bahdanau et al. 2015; Luong et al. 2015).

The encoder, any rnnkit layer stack (bidirectional by default), reads the source; a bridge
turns the top layer's final states into the decoder's initial state (``tanh(W [h→; h←])`` per
decoder layer and state), or hands each encoder layer's final states, its directions side by
side, to the decoder layer of the same depth (``copy``, OpenNMT-py's default), or starts it
from zeros. The decoder, another rnnkit stack, reads the target shifted
right (teacher forcing); at each step its output h_t attends over the encoder's outputs (padding
masked) and is combined with the context c_t into the attentional state
``h̃_t = tanh(W_c [c_t; h_t])`` (Luong's placement, for every score: additive, dot, general),
which predicts the next word. With ``input_feeding`` h̃_{t-1} is also an input of step t
(Luong), so the decoder runs step by step; without it the whole target runs in one call of the
decoder stack. Label smoothing in the training loss; the output layer may share the target
embedding (with a projection when sizes differ).

Validation after each epoch is the cheap part (loss and perplexity under teacher forcing);
``rnnkit evaluate`` decodes (beam search, the ``decode`` section) and scores with sacrebleu.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.datasets.parallel import ParallelData
from rnnkit.metrics.translation import score_translations
from rnnkit.nn import ATTENTION_KINDS, Attention
from rnnkit.tasks.base import (
    Artifacts,
    Result,
    Task,
    TaskModel,
    held_split,
    move_to,
    register,
)
from rnnkit.tasks.decoding import Hypothesis, beam_search, greedy
from rnnkit.tasks.encoder import EncoderConfig, build_encoder
from rnnkit.tasks.seq2seq_data import (
    BOS,
    EOS,
    TARGET,
    EncodedPair,
    Seq2SeqBatch,
    Seq2SeqDataConfig,
    build_vocabs,
    encode_pairs,
    load_pairs,
    pair_batches,
    source_batches,
    tokenize,
)
from rnnkit.text import Vocab, detokenize

__all__ = ["DecodeConfig", "Encoded", "Seq2SeqConfig", "Seq2SeqModel", "Seq2SeqTask"]

BRIDGES = ("linear", "copy", "zeros")
EMPTY_SENTENCE = "empty sentence: not translated"  # the note of a blank input
State = Any  # the decoder layer's state: h (L, R, H), or (h, c) for an LSTM


@dataclass(frozen=True)
class Seq2SeqConfig:
    """The encoder–decoder's shape; every field has a default."""

    embedding_dim: int = 256  # source and target word vectors
    encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(hidden_size=256, num_layers=2)
    )  # reads the source (bidirectional by default)
    decoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(hidden_size=512, num_layers=1, bidirectional=False)
    )  # writes the target, left to right
    attention: str = "general"  # additive (Bahdanau) | dot | general (Luong) | none
    attention_size: int | None = None  # additive only: its hidden size (default: decoder's)
    input_feeding: bool = False  # feed h̃_{t-1} into step t (Luong); runs the decoder per step
    bridge: str = "linear"  # linear: tanh(W [h→; h←]) of the top layer | copy: each layer's | zeros
    dropout: float = 0.3  # on the word vectors and on the attentional state
    label_smoothing: float = 0.1  # share of each target's probability spread over the rest
    tie_embeddings: bool = False  # the output layer shares the target embedding matrix

    def __post_init__(self) -> None:
        if self.embedding_dim < 1:
            raise ValueError(f"seq2seq: embedding_dim must be ≥ 1, got {self.embedding_dim}")
        if self.decoder.bidirectional:
            raise ValueError(
                "seq2seq: the decoder writes left to right; set model.decoder.bidirectional "
                "false (--no-model.decoder.bidirectional)"
            )
        if self.attention not in (*ATTENTION_KINDS, "none"):
            raise ValueError(
                f"seq2seq: attention must be one of {', '.join((*ATTENTION_KINDS, 'none'))}, "
                f"got {self.attention!r}"
            )
        if self.attention_size is not None and self.attention != "additive":
            raise ValueError("seq2seq: attention_size applies to additive attention only")
        if self.input_feeding and self.attention == "none":
            raise ValueError("seq2seq: input_feeding feeds the attentional state; needs attention")
        if self.bridge not in BRIDGES:
            raise ValueError(f"seq2seq: bridge must be {', '.join(BRIDGES)}, got {self.bridge!r}")
        if self.bridge == "copy":
            _check_copy_bridge(self.encoder, self.decoder)
        for name in ("dropout", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"seq2seq: {name} must be in [0, 1), got {getattr(self, name)}")


def _check_copy_bridge(encoder: EncoderConfig, decoder: EncoderConfig) -> None:
    """The ``copy`` bridge needs a decoder of the encoder's depth, its states of the encoder's
    width (both directions) and kind."""
    width = encoder.output_size
    problems = []
    if decoder.num_layers != encoder.num_layers:
        problems.append(f"num_layers {decoder.num_layers} (the encoder's: {encoder.num_layers})")
    if decoder.hidden_size != width:
        problems.append(f"hidden_size {decoder.hidden_size} (the encoder's states: {width})")
    if (decoder.cell == "lstm") != (encoder.cell == "lstm"):
        problems.append(f"cell {decoder.cell} (an {encoder.cell} encoder's states)")
    if problems:
        raise ValueError(
            "seq2seq: bridge copy hands each encoder layer's final states to the decoder layer "
            f"of the same depth; the decoder has {'; '.join(problems)}"
        )


@dataclass(frozen=True)
class DecodeConfig:
    """How ``evaluate``, ``translate`` and ``predict`` decode."""

    beam: int = 5  # hypotheses kept per sentence; 1: greedy
    max_len: int = 100  # target tokens at most (each sentence: also ≤ 2 · its length + 10)
    length_penalty: float = 1.0  # rank by score / length ** this (0: raw sum, 1: mean)
    n_best: int = 1  # hypotheses returned per sentence (≤ beam)
    batch: int = 64  # sentences decoded at once

    def __post_init__(self) -> None:
        for name in ("beam", "max_len", "n_best", "batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"decode: {name} must be ≥ 1, got {getattr(self, name)}")
        if self.n_best > self.beam:
            raise ValueError(f"decode: n_best ({self.n_best}) must be ≤ beam ({self.beam})")
        if not (math.isfinite(self.length_penalty) and self.length_penalty >= 0):
            raise ValueError(f"decode: length_penalty must be ≥ 0, got {self.length_penalty}")


@dataclass
class Encoded:
    """A source batch as the decoder attends to it (R rows)."""

    memory: Tensor  # (R, S, D) the encoder's outputs, zero at padding
    mask: Tensor  # (R, S) True at real source tokens
    prepared: Tensor | None  # (R, S, ·) the attention's per-key part, once per source
    bridged: State | None  # the decoder's initial state from the bridge (None: zeros)

    def select(self, rows: Tensor) -> Encoded:
        return Encoded(
            self.memory.index_select(0, rows), self.mask.index_select(0, rows),
            None if self.prepared is None else self.prepared.index_select(0, rows),
            _select_state(self.bridged, rows),
        )  # fmt: skip


def _directions_joined(state: Tensor, directions: int) -> Tensor:
    """(L·D, B, H) → (L, B, D·H): each layer's final states, its directions side by side."""
    LD, B, H = state.shape
    L = LD // directions
    return state.view(L, directions, B, H).permute(0, 2, 1, 3).reshape(L, B, directions * H)


def _select_state(state: State | None, rows: Tensor) -> State | None:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.index_select(1, rows) for s in state)
    return state.index_select(1, rows)


@dataclass
class DecoderState:
    """The decoder's recurrent state and, with input feeding, the last attentional state."""

    recurrent: State | None  # None: zeros
    feed: Tensor | None  # (R, H) h̃_{t-1}, or None without input feeding


class Seq2SeqModel(TaskModel):
    """Embeddings → encoder → bridge → decoder with attention → output layer.

    Args:
        config: the model section.
        source_size, target_size: the vocabulary sizes (padding id 0 on both sides).
        bos, eos: the target vocabulary's ids of ``<bos>`` and ``<eos>``.
    """

    def __init__(
        self, config: Seq2SeqConfig, source_size: int, target_size: int, *, bos: int, eos: int
    ) -> None:
        super().__init__()
        self.config, self.bos, self.eos = config, bos, eos
        self.never = [0, bos]  # ids a translation never holds: <pad>, <bos>
        E, enc, dec = config.embedding_dim, config.encoder, config.decoder
        H, D = dec.hidden_size, enc.output_size
        self.source_embedding = nn.Embedding(source_size, E, padding_idx=0)
        self.target_embedding = nn.Embedding(target_size, E, padding_idx=0)
        self.encoder = build_encoder(enc, E)
        self.decoder = build_encoder(dec, E + (H if config.input_feeding else 0))
        self.states = 2 if dec.cell == "lstm" else 1
        self.bridge = (
            nn.Linear(D, dec.num_layers * self.states * H) if config.bridge == "linear" else None
        )
        if config.attention == "none":
            self.attention, self.combine = None, None
        else:
            self.attention = Attention(config.attention, H, D, config.attention_size)
            self.combine = nn.Linear(D + H, H, bias=False)  # h̃ = tanh(W_c [c; h])
        self.output_projection = (
            nn.Linear(H, E, bias=False) if config.tie_embeddings and H != E else None
        )
        self.generator = nn.Linear(E if config.tie_embeddings else H, target_size)
        if config.tie_embeddings:
            self.generator.weight = self.target_embedding.weight
        self.dropout = nn.Dropout(config.dropout)

    # -- the network ---------------------------------------------------------------------------

    def encode(self, source: Tensor, lengths: Tensor) -> Encoded:
        """source (B, S) ids, lengths (B,) → what the decoder reads."""
        x = self.dropout(self.source_embedding(source))
        memory, final = self.encoder(x, lengths=lengths.cpu())
        S = memory.shape[1]
        mask = torch.arange(S, device=source.device) < lengths.to(source.device).unsqueeze(1)
        prepared = None if self.attention is None else self.attention.prepare(memory)
        return Encoded(memory, mask, prepared, self._bridge(final))

    def _bridge(self, final: Any) -> State | None:
        """The decoder's initial state from the encoder's final states ``final`` ((L·D, B,
        H_enc), or LSTM's pair of them): ``linear``, from the top layer's h (both directions),
        tanh of one linear map, per decoder layer and state; ``copy``, each layer's states with
        its directions side by side (L, B, D·H_enc); ``zeros``: None."""
        D = 2 if self.config.encoder.bidirectional else 1
        if self.config.bridge == "copy":
            if isinstance(final, tuple):
                return tuple(_directions_joined(s, D) for s in final)
            return _directions_joined(final, D)
        if self.bridge is None:
            return None
        h = final[0] if isinstance(final, tuple) else final  # (L·D, B, H_enc)
        top = torch.cat(list(h[-D:]), dim=-1)  # (B, D·H_enc)
        L, H = self.config.decoder.num_layers, self.config.decoder.hidden_size
        states = torch.tanh(self.bridge(top)).view(-1, L, self.states, H).permute(2, 1, 0, 3)
        if self.states == 2:
            return (states[0].contiguous(), states[1].contiguous())
        return states[0].contiguous()

    def initial_state(self, encoded: Encoded) -> DecoderState:
        rows = encoded.memory.shape[0]
        feed = (
            encoded.memory.new_zeros(rows, self.config.decoder.hidden_size)
            if self.config.input_feeding
            else None
        )
        return DecoderState(encoded.bridged, feed)

    def _attend(self, h: Tensor, encoded: Encoded) -> tuple[Tensor, Tensor | None]:
        """h (R, [T,] H) → (h̃ (R, [T,] H), attention weights (R, [T,] S) or None)."""
        if self.attention is None or self.combine is None:
            return h, None
        context, weights = self.attention(h, encoded.memory, encoded.mask, encoded.prepared)
        return torch.tanh(self.combine(torch.cat([context, h], dim=-1))), weights

    def _logits(self, attentional: Tensor) -> Tensor:
        x = self.dropout(attentional)
        if self.output_projection is not None:
            x = self.output_projection(x)
        logits: Tensor = self.generator(x)
        return logits

    def teacher_forced(self, batch: Seq2SeqBatch) -> Tensor:
        """Logits (B, T, V) of every target position, the decoder reading the gold prefix."""
        encoded = self.encode(batch.source, batch.source_lengths)
        words = self.dropout(self.target_embedding(batch.target_in))  # (B, T, E)
        state = self.initial_state(encoded)
        if not self.config.input_feeding:
            out, _ = self.decoder(words, state.recurrent)
            attentional, _ = self._attend(out, encoded)
            return self._logits(attentional)
        steps, recurrent, feed = [], state.recurrent, state.feed
        for t in range(words.shape[1]):
            assert feed is not None
            out, recurrent = self.decoder(torch.cat([words[:, t], feed], -1)[:, None], recurrent)
            feed, _ = self._attend(out[:, 0], encoded)
            steps.append(feed)
        return self._logits(torch.stack(steps, dim=1))

    def step(
        self, tokens: Tensor, state: DecoderState, encoded: Encoded
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One decoder step: tokens (R,) → (log-probabilities (R, V), the new state, attention
        weights (R, S) or None)."""
        x = self.dropout(self.target_embedding(tokens))  # (R, E)
        if state.feed is not None:
            x = torch.cat([x, state.feed], dim=-1)
        out, recurrent = self.decoder(x[:, None], state.recurrent)
        attentional, weights = self._attend(out[:, 0], encoded)
        log_probs = F.log_softmax(self._logits(attentional), dim=-1)
        log_probs[:, self.never] = float("-inf")  # <pad> and <bos> are never produced
        feed = attentional if self.config.input_feeding else None
        return log_probs, DecoderState(recurrent, feed), weights

    def select_state(self, state: DecoderState, rows: Tensor) -> DecoderState:
        feed = None if state.feed is None else state.feed.index_select(0, rows)
        return DecoderState(_select_state(state.recurrent, rows), feed)

    def select(
        self, encoded: Encoded, state: DecoderState, rows: Tensor
    ) -> tuple[Encoded, DecoderState]:
        return encoded.select(rows), self.select_state(state, rows)

    # -- the TaskModel contract ----------------------------------------------------------------

    def forward_loss(self, batch: Seq2SeqBatch) -> tuple[Tensor, int]:
        """(the batch's summed label-smoothed cross-entropy, its target tokens)."""
        logits = self.teacher_forced(batch)
        loss = F.cross_entropy(
            logits.flatten(0, 1), batch.target_out.flatten(), ignore_index=0,
            label_smoothing=self.config.label_smoothing, reduction="sum",
        )  # fmt: skip
        return loss, batch.target_tokens

    @torch.no_grad()
    def evaluate(self, batches: Iterable[Seq2SeqBatch]) -> dict[str, float]:
        """Loss (negative log-likelihood per target token, no smoothing) and perplexity under
        teacher forcing: the cheap validation after each epoch."""
        total, count = 0.0, 0
        for batch in batches:
            batch = move_to(batch, self.device)
            logits = self.teacher_forced(batch)
            total += float(
                F.cross_entropy(
                    logits.flatten(0, 1), batch.target_out.flatten(),
                    ignore_index=0, reduction="sum",
                )
            )  # fmt: skip
            count += batch.target_tokens
        if count == 0:
            raise ValueError("seq2seq: evaluate got no batches")
        loss = total / count
        return {"loss": loss, "perplexity": math.exp(min(loss, 700.0))}

    @torch.no_grad()
    def predict(self, batch: Seq2SeqBatch) -> list[list[int]]:
        """Greedy translations of the batch: target ids without <eos>."""
        return [h.tokens for h in greedy(self, batch.source, batch.source_lengths)]


class Seq2SeqTask(Task):
    """``rnnkit train seq2seq``: translation, scored by BLEU and chrF."""

    name: ClassVar[str] = "seq2seq"
    summary: ClassVar[str] = (
        "translation: an encoder-decoder with attention (multi30k, your parallel files)"
    )
    sections: ClassVar[dict[str, type]] = {
        "data": Seq2SeqDataConfig, "model": Seq2SeqConfig, "decode": DecodeConfig,
    }  # fmt: skip
    default_monitor: ClassVar[str] = "loss"
    record_metrics: ClassVar[tuple[str, ...]] = ("bleu", "bleu_lc", "chrf")
    vocab_names: ClassVar[tuple[str, ...]] = (Artifacts.MAIN, TARGET)
    input_help: ClassVar[str] = "source sentences to translate"
    example_unit: ClassVar[str] = "sentence pairs"

    def dataset_name(self, config: Any) -> str:
        """``multi30k-de-en``: the data and its direction."""
        return f"{config.data.dataset}-{config.data.src}-{config.data.tgt}"

    def load_data(self, config: Any) -> ParallelData:
        return load_pairs(config.data)

    def build_artifacts(self, config: Any, data: ParallelData) -> Artifacts:
        source, target = build_vocabs(data, config.data)
        return Artifacts({Artifacts.MAIN: source, TARGET: target}, [])

    def build_model(self, config: Any, artifacts: Artifacts) -> Seq2SeqModel:
        source, target = artifacts.vocabs[Artifacts.MAIN], artifacts.vocabs[TARGET]
        return Seq2SeqModel(
            config.model, len(source), len(target), bos=target.index(BOS), eos=target.index(EOS)
        )

    def _encoded(
        self, config: Any, artifacts: Artifacts, pairs: Sequence[Any], *, cut: bool
    ) -> list[EncodedPair]:
        source, target = artifacts.vocabs[Artifacts.MAIN], artifacts.vocabs[TARGET]
        return encode_pairs(pairs, source, target, config.data, cut=cut)

    def batches(
        self, config: Any, artifacts: Artifacts, data: ParallelData, split: str, *, train: bool
    ) -> Iterable[Seq2SeqBatch] | None:
        pairs = data.split(split)
        if not pairs:
            return None
        encoded = self._encoded(config, artifacts, pairs, cut=train)
        return pair_batches(
            encoded, artifacts.vocabs[TARGET], batch_size=config.data.batch_size if train else 128,
            shuffle=train, seed=config.trainer.seed,
        )  # fmt: skip

    def translate(
        self, run: Any, sources: Sequence[str], *, decode: DecodeConfig | None = None,
        attention: bool = False,
    ) -> list[list[Hypothesis]]:  # fmt: skip
        """Each source sentence's n-best hypotheses (decode settings: the run's, or ``decode``),
        in input order."""
        decode = decode or run.config.decode
        model: Seq2SeqModel = run.model
        vocabs = run.artifacts.vocabs
        results: list[list[Hypothesis]] = [[] for _ in sources]
        model.eval()
        for positions, batch in source_batches(
            sources, vocabs[Artifacts.MAIN], vocabs[TARGET], run.config.data, decode.batch
        ):
            batch = move_to(batch, model.device)
            found = beam_search(
                model, batch.source, batch.source_lengths, beam=decode.beam,
                max_len=decode.max_len, length_penalty=decode.length_penalty,
                n_best=decode.n_best, attention=attention,
            )  # fmt: skip
            for position, hypotheses in zip(positions, found, strict=True):
                results[position] = hypotheses
        return results

    def evaluate(self, run: Any, data: ParallelData, split: str) -> Result:
        name = f"{data.name}-{data.src}-{data.tgt}" if data.name else self.dataset_name(run.config)
        pairs = held_split(data, split, name)
        target_vocab = run.artifacts.vocabs[TARGET]
        found = self.translate(run, [p.source for p in pairs])
        hypotheses = [_text(h[0], target_vocab) for h in found]
        references = [p.target for p in pairs]
        scores = score_translations(hypotheses, references)
        batches = pair_batches(
            self._encoded(run.config, run.artifacts, pairs, cut=False), target_vocab,
            batch_size=128, shuffle=False, seed=0,
        )  # fmt: skip
        teacher = run.model.evaluate(batches)
        decode = run.config.decode
        metrics = {
            "bleu": scores.bleu, "bleu_lc": scores.bleu_lc, "chrf": scores.chrf,
            "loss": teacher["loss"], "perplexity": teacher["perplexity"],
        }  # fmt: skip
        how = f"beam {decode.beam}" if decode.beam > 1 else "greedy"
        table = "\n".join([
            f"{name} {split}: {len(pairs):,} sentence pairs, {how}, length penalty "
            f"{decode.length_penalty:g}",
            f"  BLEU        {scores.bleu:.2f}   ({scores.bleu_signature})",
            f"  BLEU (lc)   {scores.bleu_lc:.2f}",
            f"  chrF        {scores.chrf:.2f}   ({scores.chrf_signature})",
            f"  perplexity  {teacher['perplexity']:.2f} (teacher forcing)",
            *(f"  > {p.source}\n    = {p.target}\n    ~ {h}"
              for p, h in zip(pairs[:3], hypotheses[:3], strict=False)),
        ])  # fmt: skip
        details = {
            "bleu_signature": scores.bleu_signature, "chrf_signature": scores.chrf_signature,
            "decode": {"beam": decode.beam, "length_penalty": decode.length_penalty,
                       "max_len": decode.max_len},
            "samples": [{"source": p.source, "reference": p.target, "translation": h}
                        for p, h in zip(pairs[:10], hypotheses[:10], strict=False)],
        }  # fmt: skip
        return Result(
            task=self.name, dataset=name, split=split, main="bleu", metrics=metrics,
            examples=len(pairs), table=table, details=details,
        )  # fmt: skip

    def predict(self, run: Any, inputs: Sequence[str]) -> list[dict[str, Any]]:
        if isinstance(inputs, str):
            inputs = [inputs]
        if not inputs:
            raise ValueError("predict: no sentences given")
        tokens = [tokenize(text, run.config.data) for text in inputs]
        filled = [text for text, words in zip(inputs, tokens, strict=True) if words]
        source_vocab = run.artifacts.vocabs[Artifacts.MAIN]
        unknown = sorted({t for words in tokens for t in words if t not in source_vocab})
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            print(f"translate: not in the source vocabulary, read as <unk>: {shown}",
                  file=sys.stderr)  # fmt: skip
        target_vocab = run.artifacts.vocabs[TARGET]
        found = iter(self.translate(run, filled) if filled else [])
        results: list[dict[str, Any]] = []
        for text, words in zip(inputs, tokens, strict=True):
            if not words:  # marked, not dropped, not an abort
                results.append({"text": text, "translation": "", "note": EMPTY_SENTENCE})
                continue
            hypotheses = next(found)
            best = hypotheses[0]
            results.append({
                "text": text, "translation": _text(best, target_vocab),
                "tokens": target_vocab.decode(best.tokens), "score": best.score,
                "n_best": [{"translation": _text(h, target_vocab), "score": h.score,
                            "normalized": h.normalized} for h in hypotheses],
            })  # fmt: skip
        return results

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        if "note" in prediction:
            return f"({prediction['note']})"
        return str(prediction["translation"])

    def split_sizes(self, data: ParallelData) -> dict[str, int]:
        return {split: len(data.split(split)) for split in ("train", "val", "test")}

    def split_tokens(self, config: Any, data: ParallelData, split: str) -> list[str] | None:
        """The source words of ``split`` as the source vocabulary sees them."""
        pairs = data.split(split)
        return [t for p in pairs for t in tokenize(p.source, config.data)] or None


def _text(hypothesis: Hypothesis, vocab: Vocab) -> str:
    """A hypothesis as text: its words, detokenised."""
    return detokenize(vocab.decode(hypothesis.tokens))


register(Seq2SeqTask())
