"""rnnkit's attention encoder–decoder against OpenNMT-py's RNN encoder–decoder, in one run.

Measured side by side: training target tokens per second, and beam-search sentences per second.

The peer is OpenNMT-py 3.5.1 (the last release; its end of support was announced in 2024). It pins
torch < 2.3, so it lives in its own environment, beside the same CPU torch as rnnkit's, and runs
there (it imports and runs on torch 2.13; pip only reports the pin)::

    python3 -m venv .peers/opennmt
    .peers/opennmt/bin/pip install torch==2.13.0
    .peers/opennmt/bin/pip install --no-deps opennmt-py==3.5.1
    .peers/opennmt/bin/pip install configargparse "ctranslate2>=4,<5" "tensorboard>=2.3" flask \\
        waitress "pyonmttok>=1.37,<2" pyyaml sacrebleu rapidfuzz pyahocorasick fasttext-wheel \\
        spacy six

(a plain ``pip install opennmt-py`` replaces the CPU torch by torch 2.2.2 and its CUDA libraries,
some 4 GB). This script runs in rnnkit's environment and starts ``seq2seq_opennmt_peer.py`` with
that environment's Python (``--peer-python``) as a worker it drives over a pipe, one JSON line
per command and per answer; tensors travel as ``torch.save`` files in a temporary folder. The
worker times its own work with its own clock, and the rows take turns, so a busy machine slows
all of them alike.

Data: Multi30k German→English (``rnnkit.datasets.load("multi30k", "seq2seq", src="de",
tgt="en")`` under ``$RNNKIT_DATA``), read as ``rnnkit train seq2seq`` reads it (word tokens,
case kept, vocabularies of the training words seen twice or more); the first W + R·K training
batches of B sentence pairs as rnnkit's ``pair_batches`` makes them (bucketed by source length,
shuffled, seed 0), the same batches, in the same order, for every row; and N
(``--beam-sentences``) validation sentences, one batch, for the beam search (see below).
OpenNMT-py's vocabularies hold the same tokens in the same order (its ``<blank> <unk> <s> </s>``
at rnnkit's ``<pad> <unk> <bos> <eos>``), so the two read the same id tensors; its target is
rnnkit's ``<bos> y_1 … y_n <eos>`` (``target_in``'s first column, then ``target_out``).

The model, the same sizes on both sides: word vectors of E on each side; a bidirectional LSTM
encoder of L layers, H per direction, over packed sequences; an L-layer LSTM decoder of 2H; Luong
"general" attention over the encoder's outputs, padding masked, and the attentional state
h̃ = tanh(W_c [c; h]) (no bias); a linear output layer over the target vocabulary;
label-smoothed (0.1) cross-entropy summed over the target tokens, <eos> included, and divided by
their count; Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-8), gradient norm clipped at 1; dropout p
(``--dropout``) on the word vectors, between stacked layers and on h̃ before the output layer.
OpenNMT-py fixes the decoder's shape: its decoder starts from each encoder layer's final (h, c),
the two directions concatenated, and its ``GlobalAttention`` has one size for query and key, so
its decoder has the encoder's L layers of 2H. The defaults (E 256, 2 layers of 256 per direction,
so a decoder of 2 × 512) keep the encoder of rnnkit's Multi30k runs and give the decoder the size
OpenNMT-py needs; a 1-layer decoder of 256 takes ``--enc-layers 1 --enc-hidden 128``.

The bridge (``--bridge``): with ``copy``, the default, rnnkit's decoder starts from the
encoder's final states, each layer's two directions side by side (``bridge="copy"``), as
OpenNMT-py's does (``-bridge`` off, its default: no parameters), so the two models are the same
function of the same weights; ``linear`` keeps rnnkit's other bridge, tanh(W [h→; h←]) of the
encoder's top layer, one linear map for every decoder layer's h and c. One detail differs, by
design of each system, and is kept: with input feeding, OpenNMT-py feeds the *dropped-out*
h̃_{t-1} to step t, rnnkit the undropped one (the same without dropout).

Training rows (``--input-feeding``: ``off``, ``on`` or ``both``, the default here):

- ``rnnkit``: ``Seq2SeqModel`` from a ``Seq2SeqConfig`` of these sizes (``backend="auto"``),
  each step the body of ``rnnkit.training.Trainer``'s epoch loop: ``forward_loss`` → (sum,
  count) → mean, backward, clip, Adam step; without input feeding its decoder reads the whole
  target in one call, with it (``input_feeding=True``) one step at a time;
- ``OpenNMT-py``: the model ``onmt_train`` builds from ``-encoder_type brnn -decoder_type rnn
  -rnn_type LSTM -global_attention general -input_feed 0|1 …`` (``build_base_model``: an
  ``RNNEncoder``; a ``StdRNNDecoder``, one ``nn.LSTM`` call over the target, or an
  ``InputFeedRNNDecoder``, a loop of ``StackedLSTM`` cells), each step as its
  ``Trainer._gradient_accumulation`` takes it (``LossCompute`` from ``-label_smoothing 0.1``,
  ``Optimizer`` from ``-optim adam -max_grad_norm 1``; the loss divided by the same token count
  as rnnkit's: OpenNMT-py's ``-normalization tokens`` leaves the <eos>s out of the count, a
  constant factor of the gradient that only the clipping sees).

Every model starts from the same weights: rnnkit's initialisation (seed 0), copied into
OpenNMT-py's model (``W_a`` transposed: rnnkit applies it to the keys, OpenNMT-py to the query).
Target tokens/s = the tokens of a round's K batches over its seconds, the median of R rounds
after W warm-up batches, the rows taking turns in a rotating order.

Beam search, after training (each row decodes the model it trained), at a fixed length: beam B
(``--beam``), n-best 1, scores divided by the length (rnnkit's ``length_penalty=1``;
OpenNMT-py's ``GNMTGlobalScorer`` with ``length_penalty="avg"``, ``alpha=1``), the batch of N
validation sentences at once; rnnkit's ``beam_search`` against OpenNMT-py's
``Translator.translate_batch``, both with minimum = maximum length L (``--beam-length``, default
20): ``<eos>`` is barred until a hypothesis has L tokens (rnnkit's ``min_len``, OpenNMT-py's
``min_length``) and both cut at L (``max_len``, ``max_length``), so every sentence takes exactly
L decoder steps on both sides whatever the models learnt (barely trained, each would end after
its own number of steps, and the two would do different work). The N sentences are the first
validation sentences of at least ⌈(L − 10) / 2⌉ source tokens, so that rnnkit's per-sentence
limit min(max_len, 2·n + 10) does not cut earlier, nor OpenNMT-py's per-batch one
min(max_length, 1.5·S + 5), S the longest source (checked). Each system's decoder calls are
counted (a forward hook) and checked to be L, and every best hypothesis to have L tokens; the
table shows both. Sentences/s = N over the median of ``--beam-repeats`` timed runs after one
warm-up run, the rows taking turns; ms / step = that median over the L steps.

BLEU after the same number of epochs (``--epochs E``, default 0: off), after the timing above: per
input-feeding mode (``--input-feeding``; not given: without input feeding only) a fresh pair of
models from the same initial weights (as above), trained for E epochs over the whole Multi30k
training set (``--epochs-batches K`` keeps each epoch's first K batches, for smoke runs). Epoch e's
batches are rnnkit's ``pair_batches`` (seed 0) after ``set_epoch(e)``, as rnnkit's ``Trainer``
takes them (epoch 0 starts with the timing part's batches), the same batches in the same order for
both systems; each step as in the timing part. The rows take turns per chunk of ``--epochs-chunk``
batches (the order rotating), each timing its own chunks with its own clock; an epoch's tokens/s =
its target tokens over the sum of its chunks' seconds. After each epoch, the validation loss under
teacher forcing, the same quantity on both sides: the negative log-likelihood per target token
(``<eos>`` included, no label smoothing, dropout off) over the validation split in rnnkit's
evaluation batches (128 pairs, in order), rnnkit's ``Seq2SeqModel.evaluate`` and, in the worker,
OpenNMT-py's generator scores through the same cross-entropy (``validate``), each on its own model
(each system keeps its own weights). Then the test2016 split (the dataset's ``test``,
1,000 pairs; ``--test-sentences`` keeps the first M, for smoke runs) in rnnkit's translation
batches (64, sorted by source length), the rows taking turns per batch, decoded by each system's
beam search as ``rnnkit evaluate`` decodes by default (``DecodeConfig()``: beam 5, length penalty 1
/ OpenNMT-py's "avg" with alpha 1, at most 100 tokens), each with its own stopping rule and length
limit: rnnkit stops a sentence once ``beam`` hypotheses have ended and one of them scores at least
the best live one, at most min(100, 2·n + 10) tokens; OpenNMT-py as soon as its best-ranked
hypothesis ends, at most min(100, 1.5·S + 5) tokens. Each best hypothesis is detokenised as
rnnkit's evaluation does (``detokenize`` of its target words) and both are scored by
``rnnkit.metrics.translation.score_translations`` (sacrebleu corpus BLEU, cased, 13a; the same
lower-cased; chrF) against the split's reference sentences, the signatures printed. Beam seconds =
the decoding of the test sentences, each system's own clock.

Before timing, float64 checks at small sizes (asserted), with and without input feeding: on a
real batch, with rnnkit's weights copied, both systems give the same summed loss and the same
gradient for every parameter (with ``--bridge linear`` the decoder's initial state pinned to the
same value: rnnkit's bridge with W = 0, so tanh(b) whatever the encoder says, handed to
OpenNMT-py's decoder in place of its own initial state, which the bridges make different);
OpenNMT-py's
``LossCompute``, which casts the scores to float32, agrees to float32 rounding; and the loss with
OpenNMT-py's own initial state is recorded beside it.

Writes ``<out>.json`` and ``<out>.md`` (default ``benchmarks/results/seq2seq-speed-<date>``,
with ``--quick`` ``seq2seq-speed-<date>-quick``; the epochs mode in a section of its own, the
JSON's ``epochs``) and prints the table. Nothing goes to ``benchmarks/results/speed.jsonl``,
whose lines are layer-level (one recurrent layer's forward and backward), with no place for a
whole model's tokens/s or a decoder's sentences/s.

    RNNKIT_DATA=../shared/data .venv/bin/python benchmarks/bench_seq2seq.py          # 1 thread
    RNNKIT_DATA=../shared/data .venv/bin/python benchmarks/bench_seq2seq.py --quick  # smoke run
    RNNKIT_DATA=../shared/data .venv/bin/python benchmarks/bench_seq2seq.py --quick --epochs 1 \
        --epochs-batches 3 --test-sentences 64 --out /tmp/seq2seq-smoke     # epochs mode, smoke
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import rnnkit
from rnnkit._machine import cpu_model
from rnnkit.bench.device import device_description
from rnnkit.metrics.translation import score_translations
from rnnkit.tasks.decoding import beam_search
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.tasks.seq2seq import DecodeConfig, Seq2SeqConfig, Seq2SeqModel
from rnnkit.tasks.seq2seq_data import (
    BOS,
    EOS,
    Seq2SeqBatch,
    Seq2SeqDataConfig,
    build_vocabs,
    collate_pairs,
    encode_pairs,
    load_pairs,
    pair_batches,
    source_batches,
)
from rnnkit.text import Vocab, detokenize
from rnnkit.text.batching import BucketBatchSampler

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORKER = Path(__file__).resolve().with_name("seq2seq_opennmt_peer.py")
PEER_PYTHON = ROOT / ".peers" / "opennmt" / "bin" / "python"
LR, CLIP, LABEL_SMOOTHING, LENGTH_PENALTY = 1e-3, 1.0, 0.1, 1.0
FULL = {
    "embedding": 256, "enc_layers": 2, "enc_hidden": 256, "batch": 64, "steps": 10,
    "repeats": 10, "warmup": 3, "beam": 5, "beam_sentences": 64, "beam_repeats": 5,
    "beam_length": 20,
}  # fmt: skip
QUICK = {
    "embedding": 16, "enc_layers": 2, "enc_hidden": 8, "batch": 8, "steps": 2,
    "repeats": 2, "warmup": 1, "beam": 3, "beam_sentences": 4, "beam_repeats": 2,
    "beam_length": 20,
}  # fmt: skip
TEST = DecodeConfig()  # the epochs mode's test decoding: rnnkit evaluate's defaults
PARITY = {"embedding": 12, "enc_layers": 2, "enc_hidden": 8, "sentences": 6}
BRIDGE_TEXT = {
    "copy": "the encoder's final states, as OpenNMT-py's: the two models are the same",
    "linear": "tanh(W [h→; h←]) of the top layer; OpenNMT-py the encoder's final states",
}
PINNED = {"copy": "", "linear": "; initial decoder state pinned"}


# ---------------------------------------------------------------------------------------------
# the two models, and the weights copied across


def rnnkit_model(
    sizes: dict[str, int], source_size: int, target_size: int, *, input_feeding: bool,
    dropout: float, bos: int, eos: int, bridge: str = "copy",
) -> Seq2SeqModel:  # fmt: skip
    """rnnkit's model of these sizes: encoder L × H bidirectional, decoder L × 2H."""
    L, H = sizes["enc_layers"], sizes["enc_hidden"]
    config = Seq2SeqConfig(
        embedding_dim=sizes["embedding"],
        encoder=EncoderConfig(
            cell="lstm", hidden_size=H, num_layers=L, bidirectional=True, layer_dropout=dropout
        ),
        decoder=EncoderConfig(
            cell="lstm", hidden_size=2 * H, num_layers=L, bidirectional=False,
            layer_dropout=dropout,
        ),
        attention="general", input_feeding=input_feeding, bridge=bridge, dropout=dropout,
        label_smoothing=LABEL_SMOOTHING, tie_embeddings=False,
    )  # fmt: skip
    return Seq2SeqModel(config, source_size, target_size, bos=bos, eos=eos)


def opennmt_argv(sizes: dict[str, int], *, input_feeding: bool, dropout: float) -> list[str]:
    """``onmt_train``'s flags for the same model and recipe."""
    L, H, E = sizes["enc_layers"], sizes["enc_hidden"], sizes["embedding"]
    flags = {
        "model_task": "seq2seq", "encoder_type": "brnn", "decoder_type": "rnn",
        "rnn_type": "LSTM", "enc_layers": L, "dec_layers": L, "enc_hid_size": 2 * H,
        "dec_hid_size": 2 * H, "word_vec_size": E, "global_attention": "general",
        "input_feed": int(input_feeding), "dropout": dropout,
        "label_smoothing": LABEL_SMOOTHING, "optim": "adam", "learning_rate": LR,
        "adam_beta1": 0.9, "adam_beta2": 0.999, "max_grad_norm": CLIP,
        "normalization": "tokens", "decay_method": "none",
    }  # fmt: skip
    return [item for key, value in flags.items() for item in (f"-{key}", str(value))]


def opennmt_names(model: Seq2SeqModel) -> dict[str, str]:
    """rnnkit parameter name → OpenNMT-py's, for every parameter but the bridge's."""
    names = {
        "source_embedding.weight": "encoder.embeddings.make_embedding.emb_luts.0.weight",
        "target_embedding.weight": "decoder.embeddings.make_embedding.emb_luts.0.weight",
        "attention.key_proj.weight": "decoder.attn.linear_in.weight",  # transposed
        "combine.weight": "decoder.attn.linear_out.weight",
        "generator.weight": "generator.weight",
        "generator.bias": "generator.bias",
    }
    for name, _ in model.encoder.named_parameters():
        names[f"encoder.{name}"] = f"encoder.rnn.{name}"
    for name, _ in model.decoder.named_parameters():  # weight_ih_l{k}, …
        if model.config.input_feeding:  # StackedLSTM: layers.{k}.weight_ih, …
            kind, layer = name.rsplit("_l", 1)
            names[f"decoder.{name}"] = f"decoder.rnn.layers.{layer}.{kind}"
        else:  # nn.LSTM: the same names
            names[f"decoder.{name}"] = f"decoder.rnn.{name}"
    ours = {name for name, _ in model.named_parameters() if not name.startswith("bridge.")}
    assert set(names) == ours, f"unmapped parameters: {sorted(ours ^ set(names))}"
    return names


TRANSPOSED = {"attention.key_proj.weight"}  # rnnkit: keys @ W_aᵀ; OpenNMT-py: query @ W_inᵀ


def opennmt_weights(model: Seq2SeqModel) -> dict[str, Tensor]:
    """rnnkit's weights under OpenNMT-py's names."""
    params = dict(model.named_parameters())
    return {
        theirs: (params[ours].t() if ours in TRANSPOSED else params[ours]).detach().clone()
        for ours, theirs in opennmt_names(model).items()
    }


def peer_batch(batch: Seq2SeqBatch) -> dict[str, Tensor]:
    """One batch as the worker reads it: src (B, S), srclen (B,), tgt (B, T + 1) = <bos> y <eos>,
    and the tokens the loss is divided by."""
    return {
        "src": batch.source, "srclen": batch.source_lengths,
        "tgt": torch.cat([batch.target_in[:, :1], batch.target_out], dim=1),
        "tokens": torch.tensor(batch.target_tokens),
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the worker


class Peer:
    """The OpenNMT-py worker: one subprocess of the peer environment's Python."""

    def __init__(self, python: Path, threads: int) -> None:
        self.process = subprocess.Popen(
            [str(python), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1,
        )  # fmt: skip
        self.hello = self.request("hello", threads=threads, seed=1)

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """Send one command; its answer, or RuntimeError with the worker's error."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the OpenNMT-py worker exited (code {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if not answer.pop("ok"):
            raise RuntimeError(f"the OpenNMT-py worker failed: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            self.request("quit")
            self.process.wait(timeout=60)


def save(obj: object, folder: Path, name: str) -> str:
    path = folder / name
    torch.save(obj, path)
    return str(path)


# ---------------------------------------------------------------------------------------------
# checks (float64, small sizes)


def check_parity(
    peer: Peer, batch: Seq2SeqBatch, source_size: int, target_size: int, bos: int, eos: int,
    folder: Path, bridge: str,
) -> dict[str, Any]:  # fmt: skip
    """See the module docstring; returns the largest differences found."""
    sizes = {k: PARITY[k] for k in ("embedding", "enc_layers", "enc_hidden")}
    report: dict[str, Any] = {"sizes": sizes, "sentences": int(batch.source.shape[0])}
    for feeding in (False, True):
        torch.manual_seed(0)
        ours = rnnkit_model(
            sizes, source_size, target_size, input_feeding=feeding, dropout=0.0, bos=bos,
            eos=eos, bridge=bridge,
        ).to(torch.float64)  # fmt: skip
        pinned: dict[str, Tensor] = {}
        if bridge == "linear":  # pin the initial state to tanh(b): no path from the encoder
            assert ours.bridge is not None
            with torch.no_grad():
                ours.bridge.weight.zero_()
                ours.bridge.bias.uniform_(-1, 1)
                bridged = ours.encode(batch.source, batch.source_lengths).bridged
            assert isinstance(bridged, tuple)  # an LSTM decoder's (h, c), each (L, B, 2H)
            pinned = {"h0": bridged[0], "c0": bridged[1]}
        ours.train()
        loss_sum, _ = ours.forward_loss(batch)
        loss_sum.backward()
        name = f"parity{' input feeding' if feeding else ''}"
        peer.request(
            "build", name=name, dtype="float64",
            argv=opennmt_argv(sizes, input_feeding=feeding, dropout=0.0),
            weights=save(opennmt_weights(ours), folder, "parity-weights.pt"),
        )  # fmt: skip
        grads_path = folder / "parity-grads.pt"
        theirs = peer.request(
            "parity", name=name, grads=str(grads_path),
            batch=save({"batch": peer_batch(batch), **pinned}, folder, "parity.pt"),
        )  # fmt: skip
        their_grads: dict[str, Tensor] = torch.load(grads_path, weights_only=True)
        params = dict(ours.named_parameters())
        grad_diff, scale = 0.0, 0.0
        for mine, other in opennmt_names(ours).items():
            grad = params[mine].grad
            assert grad is not None, f"no gradient reached rnnkit's {mine}"
            grad = grad.t() if mine in TRANSPOSED else grad
            grad_diff = max(grad_diff, float((grad - their_grads[other]).abs().max()))
            scale = max(scale, float(grad.abs().max()))
        mine_loss = float(loss_sum.detach())
        loss_diff = abs(mine_loss - theirs["loss"])
        rounded = abs(mine_loss - theirs["loss_compute_float32"]) / abs(mine_loss)
        key = "input feeding" if feeding else "no input feeding"
        report[key] = {
            "loss_sum": mine_loss, "max_abs_loss_diff": loss_diff,
            "max_abs_grad_diff": grad_diff, "max_abs_grad": scale,
            "loss_compute_float32_rel_diff": rounded,
            "loss_sum_own_initial_state": theirs["loss_own_initial_state"],
        }  # fmt: skip
        assert loss_diff <= 1e-9 * abs(mine_loss), f"{key}: losses differ by {loss_diff:.2e}"
        assert grad_diff <= 1e-9 * scale, f"{key}: gradients differ by {grad_diff:.2e}"
        assert rounded <= 1e-5, f"{key}: LossCompute differs by {rounded:.2e} (relative)"
    return report


# ---------------------------------------------------------------------------------------------
# data


def load_data(args: argparse.Namespace) -> dict[str, Any]:
    """Vocabularies, the training batches and the beam batch (see the module docstring)."""
    config = Seq2SeqDataConfig(dataset="multi30k", src="de", tgt="en", batch_size=args.batch)
    data = load_pairs(config)
    source_vocab, target_vocab = build_vocabs(data, config)
    train = encode_pairs(data.train, source_vocab, target_vocab, config, cut=True)
    needed = args.warmup + args.repeats * args.steps
    batches: list[Seq2SeqBatch] = []
    for batch in pair_batches(train, target_vocab, batch_size=args.batch, shuffle=True, seed=0):
        batches.append(batch)
        if len(batches) == needed:
            break
    if len(batches) < needed:
        raise SystemExit(
            f"bench_seq2seq: W + R·K = {needed} batches asked, the training split holds "
            f"{len(batches)} of {args.batch}"
        )
    val = encode_pairs(data.split("val"), source_vocab, target_vocab, config, cut=False)
    shortest = beam_shortest_source(args.beam_length)
    beam_pairs = [p for p in val if len(p.source) >= shortest][: args.beam_sentences]
    if len(beam_pairs) < args.beam_sentences:
        raise SystemExit(
            f"bench_seq2seq: {args.beam_sentences} validation sentences of ≥ {shortest} tokens "
            f"asked (--beam-length {args.beam_length}), the split holds {len(beam_pairs)}"
        )
    beam = collate_pairs(beam_pairs, bos=target_vocab.index(BOS), eos=target_vocab.index(EOS))
    S = int(beam.source.shape[1])  # OpenNMT-py's limit: min(max_length, 1.5·S + 5) per batch
    if int(1.5 * S + 5) < args.beam_length:
        raise SystemExit(
            f"bench_seq2seq: the beam batch's longest source ({S} tokens) limits OpenNMT-py to "
            f"{int(1.5 * S + 5)} < --beam-length {args.beam_length} steps"
        )
    return {
        "source_vocab": source_vocab, "target_vocab": target_vocab, "train": batches,
        "beam": beam, "train_encoded": train, "val_encoded": val, "pairs": data,
        "config": config,
    }  # fmt: skip


def beam_shortest_source(length: int) -> int:
    """The fewest source tokens n for which rnnkit's limit min(·, 2·n + 10) reaches ``length``."""
    return max(1, math.ceil((length - 10) / 2))


def tokens_of(vocab: Vocab) -> list[str]:
    return [vocab.token(i) for i in range(len(vocab))]


# ---------------------------------------------------------------------------------------------
# timing


class Row:
    """One training row: :meth:`train` takes batches [first, first + count) and returns its
    seconds; :meth:`beam` decodes the beam batch."""

    def __init__(self, label: str, system: str, input_feeding: bool) -> None:
        self.label, self.system, self.input_feeding = label, system, input_feeding
        self.losses: list[float] = []

    def train(self, first: int, count: int) -> float:
        raise NotImplementedError

    def beam(self, *, count_steps: bool) -> tuple[float, list[list[int]], int | None]:
        raise NotImplementedError

    def validation_loss(self, batches: list[Seq2SeqBatch]) -> float:
        """Teacher-forced NLL per target token over ``batches`` (the epochs mode)."""
        raise NotImplementedError

    def translate(self, index: int, batch: Seq2SeqBatch) -> tuple[float, list[list[int]], int]:
        """Test batch ``index`` (``batch``) decoded as ``TEST`` says: (seconds, each sentence's
        best ids, decoder steps)."""
        raise NotImplementedError


class RnnkitRow(Row):
    def __init__(
        self, label: str, model: Seq2SeqModel, batches: list[Seq2SeqBatch], beam: Seq2SeqBatch,
        args: argparse.Namespace,
    ) -> None:  # fmt: skip
        super().__init__(label, "rnnkit", model.config.input_feeding)
        self.model, self.batches, self.beam_batch, self.args = model, batches, beam, args
        self.optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def train(self, first: int, count: int) -> float:
        model, optimizer = self.model, self.optimizer
        model.train()
        model.start_epoch(train=True)
        started = time.perf_counter()
        for batch in self.batches[first : first + count]:  # Trainer._train_epoch's body
            loss_sum, n = model(batch)
            loss = loss_sum / float(n)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
            model.end_step()
            self.losses.append(float(loss.detach()))
        return time.perf_counter() - started

    def beam(self, *, count_steps: bool) -> tuple[float, list[list[int]], int | None]:
        L = self.args.beam_length
        return self.search(
            self.beam_batch, beam=self.args.beam, min_len=L, max_len=L,
            length_penalty=LENGTH_PENALTY, count_steps=count_steps,
        )  # fmt: skip

    def search(
        self, batch: Seq2SeqBatch, *, beam: int, min_len: int, max_len: int,
        length_penalty: float, count_steps: bool,
    ) -> tuple[float, list[list[int]], int | None]:  # fmt: skip
        """``beam_search`` on one batch: (seconds, each sentence's best ids, decoder steps)."""
        self.model.eval()
        steps = [0]

        def count(*_: Any) -> None:
            steps[0] += 1

        hook = self.model.decoder.register_forward_hook(count) if count_steps else None
        try:
            started = time.perf_counter()
            found = beam_search(
                self.model, batch.source, batch.source_lengths, beam=beam, max_len=max_len,
                min_len=min_len, length_penalty=length_penalty, n_best=1,
            )  # fmt: skip
            seconds = time.perf_counter() - started
        finally:
            if hook is not None:
                hook.remove()
        return seconds, [h[0].tokens for h in found], steps[0] if count_steps else None

    def validation_loss(self, batches: list[Seq2SeqBatch]) -> float:
        self.model.eval()
        self.model.start_epoch(train=False)
        return self.model.evaluate(batches)["loss"]

    def translate(self, index: int, batch: Seq2SeqBatch) -> tuple[float, list[list[int]], int]:
        seconds, found, steps = self.search(
            batch, beam=TEST.beam, min_len=0, max_len=TEST.max_len,
            length_penalty=TEST.length_penalty, count_steps=True,
        )  # fmt: skip
        return seconds, found, steps or 0

    def backend(self) -> dict[str, str | None]:
        """What the encoder's and decoder's last training calls ran, and why."""
        out: dict[str, str | None] = {}
        for part in ("encoder", "decoder"):
            dispatch = getattr(getattr(self.model, part), "last_training_dispatch", None)
            out[part] = None if dispatch is None else f"{dispatch.backend} ({dispatch.reason})"
        return out


class OpennmtRow(Row):
    def __init__(self, label: str, peer: Peer, name: str, args: argparse.Namespace) -> None:
        super().__init__(label, "OpenNMT-py", "input feeding" in name)
        self.peer, self.name, self.args = peer, name, args

    def train(self, first: int, count: int) -> float:
        answer = self.peer.request("train", name=self.name, first=first, count=count)
        self.losses.extend(answer["losses"])
        seconds: float = answer["seconds"]
        return seconds

    def beam(self, *, count_steps: bool) -> tuple[float, list[list[int]], int | None]:
        L = self.args.beam_length
        answer = self.peer.request(
            "beam", name=self.name, beam=self.args.beam, min_length=L, max_length=L,
            length_penalty=LENGTH_PENALTY, count_steps=count_steps,
        )  # fmt: skip
        return answer["seconds"], answer["hypotheses"], answer["decoder_steps"]

    def validation_loss(self, batches: list[Seq2SeqBatch]) -> float:
        """The worker's copy of ``batches``, sent with the model (``val``)."""
        answer = self.peer.request("validate", name=self.name, key="val")
        assert answer["tokens"] == sum(b.target_tokens for b in batches), answer
        return float(answer["loss_sum"]) / int(answer["tokens"])

    def translate(self, index: int, batch: Seq2SeqBatch) -> tuple[float, list[list[int]], int]:
        answer = self.peer.request(
            "translate", name=self.name, key="test", first=index, count=1, beam=TEST.beam,
            min_length=0, max_length=TEST.max_len, length_penalty=TEST.length_penalty,
            count_steps=True,
        )  # fmt: skip
        assert len(answer["hypotheses"]) == batch.source.shape[0], "the worker's batch differs"
        return answer["seconds"], answer["hypotheses"], answer["decoder_steps"]


def interleaved(calls: dict[str, Callable[[int], float]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each call in each of ``repeats`` rounds (the round's index passed), the order
    rotating every round."""
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(calls[name](round_))
    return times


def feeding_modes(args: argparse.Namespace, default: str) -> list[bool]:
    """The input-feeding modes of ``--input-feeding``, or of ``default`` when it is not given."""
    return {"off": [False], "on": [True], "both": [False, True]}[args.input_feeding or default]


def build_rows(
    args: argparse.Namespace, data: dict[str, Any], peer: Peer, folder: Path
) -> list[Row]:
    batches_path = save(
        {"train": [peer_batch(b) for b in data["train"]], "beam": peer_batch(data["beam"])},
        folder, "batches.pt",
    )  # fmt: skip
    rows: list[Row] = []
    for feeding in feeding_modes(args, "both"):
        rows += build_pair(args, data, peer, folder, feeding, prefix="", batches=batches_path)
    return rows


def build_pair(
    args: argparse.Namespace, data: dict[str, Any], peer: Peer, folder: Path, feeding: bool,
    *, prefix: str, batches: str | None,
) -> list[Row]:  # fmt: skip
    """rnnkit's model of the sizes asked (seed 0) and OpenNMT-py's with the same weights (its
    worker's model ``<prefix>opennmt…``, reading ``batches``), as rows."""
    source_vocab, target_vocab = data["source_vocab"], data["target_vocab"]
    sizes = {k: getattr(args, k) for k in ("embedding", "enc_layers", "enc_hidden")}
    suffix = ", input feeding" if feeding else ""
    torch.manual_seed(0)
    ours = rnnkit_model(
        sizes, len(source_vocab), len(target_vocab), input_feeding=feeding,
        dropout=args.dropout, bos=target_vocab.index(BOS), eos=target_vocab.index(EOS),
        bridge=args.bridge,
    )  # fmt: skip
    name = f"{prefix}opennmt{suffix}"
    built = peer.request(
        "build", name=name, batches=batches,
        argv=opennmt_argv(sizes, input_feeding=feeding, dropout=args.dropout),
        weights=save(opennmt_weights(ours), folder, f"weights-{prefix}{int(feeding)}.pt"),
    )  # fmt: skip
    expected = "InputFeedRNNDecoder" if feeding else "StdRNNDecoder"
    assert built["decoder"] == expected and not built["bridge"], built
    return [
        RnnkitRow(f"rnnkit{suffix}", ours, data["train"], data["beam"], args),
        OpennmtRow(f"OpenNMT-py{suffix}", peer, name, args),
    ]


def time_training(
    args: argparse.Namespace, rows: list[Row], batches: list[Seq2SeqBatch]
) -> list[dict[str, Any]]:
    W, K = args.warmup, args.steps
    torch.manual_seed(1)
    for row in rows:
        row.train(0, W)

    def call(row: Row) -> Callable[[int], float]:
        return lambda r: row.train(W + r * K, K)

    times = interleaved({row.label: call(row) for row in rows}, args.repeats)
    tokens = [
        sum(b.target_tokens for b in batches[W + r * K : W + (r + 1) * K])
        for r in range(args.repeats)
    ]
    out = []
    for row in rows:
        rates = [n / s for n, s in zip(tokens, times[row.label], strict=True)]
        out.append(
            {
                "variant": row.label, "system": row.system, "input_feeding": row.input_feeding,
                "backend_ran": row.backend() if isinstance(row, RnnkitRow) else None,
                "tokens_per_s": statistics.median(rates), "tokens_per_s_min": min(rates),
                "tokens_per_s_max": max(rates),
                "ms_per_batch": 1e3 * statistics.median(times[row.label]) / K,
                "seconds": times[row.label], "tokens": tokens,
                "mean_loss_timed": statistics.fmean(row.losses[W:]),
                "last_loss": row.losses[-1],
            }
        )  # fmt: skip
    return out


def time_beam(args: argparse.Namespace, rows: list[Row], sentences: int) -> list[dict[str, Any]]:
    found: dict[str, tuple[list[list[int]], int | None]] = {}
    for row in rows:  # warm-up, counting the decoder's steps
        _, hypotheses, steps = row.beam(count_steps=True)
        found[row.label] = (hypotheses, steps)

    def call(row: Row) -> Callable[[int], float]:
        return lambda _: row.beam(count_steps=False)[0]

    times = interleaved({row.label: call(row) for row in rows}, args.beam_repeats)
    out = []
    for row in rows:
        hypotheses, steps = found[row.label]
        L = args.beam_length
        assert steps == L, f"{row.label}: {steps} decoder steps, not --beam-length {L}"
        assert all(len(h) == L for h in hypotheses), f"{row.label}: a hypothesis is not {L} long"
        seconds = times[row.label]
        out.append(
            {
                "variant": row.label, "system": row.system, "input_feeding": row.input_feeding,
                "sentences_per_s": sentences / statistics.median(seconds),
                "sentences_per_s_min": sentences / max(seconds),
                "sentences_per_s_max": sentences / min(seconds),
                "seconds": seconds, "decoder_steps": steps,
                "ms_per_step": 1e3 * statistics.median(seconds) / max(1, steps or 0),
                "mean_length": statistics.fmean(len(h) for h in hypotheses),
                "hypotheses": hypotheses,
            }
        )  # fmt: skip
    return out


def ratios(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    """rnnkit over OpenNMT-py, per input-feeding mode (> 1: rnnkit faster)."""
    by = {(r["system"], r["input_feeding"]): r[key] for r in rows}
    out = {}
    for feeding in (False, True):
        if ("rnnkit", feeding) in by:
            suffix = ", input feeding" if feeding else ""
            out[f"rnnkit{suffix} / OpenNMT-py{suffix}"] = (
                by[("rnnkit", feeding)] / by[("OpenNMT-py", feeding)]
            )
    return out


# ---------------------------------------------------------------------------------------------
# the epochs mode: the same epochs on both sides, then BLEU on test2016


def epoch_batches(args: argparse.Namespace, data: dict[str, Any], epoch: int) -> list[Seq2SeqBatch]:
    """Epoch ``epoch``'s training batches as rnnkit's ``Trainer`` takes them (``set_epoch``),
    the first ``--epochs-batches`` of them if that is given."""
    loader = pair_batches(
        data["train_encoded"], data["target_vocab"], batch_size=args.batch, shuffle=True, seed=0
    )
    sampler = loader.batch_sampler
    assert isinstance(sampler, BucketBatchSampler)
    sampler.set_epoch(epoch)
    batches: list[Seq2SeqBatch] = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == args.epochs_batches:
            break
    return batches


def test_data(
    args: argparse.Namespace, data: dict[str, Any]
) -> tuple[list[str], list[tuple[list[int], Seq2SeqBatch]]]:
    """The test split's reference sentences and its sources in rnnkit's translation batches
    ((positions, batch), as ``Seq2SeqTask.translate`` makes them)."""
    pairs = data["pairs"].split("test")
    if args.test_sentences:
        pairs = pairs[: args.test_sentences]
    batches = source_batches(
        [p.source for p in pairs], data["source_vocab"], data["target_vocab"], data["config"],
        TEST.batch,
    )  # fmt: skip
    return [p.target for p in pairs], list(batches)


def run_epochs(
    args: argparse.Namespace, data: dict[str, Any], peer: Peer, folder: Path
) -> dict[str, Any]:
    """See the module docstring: per row its epochs, test scores and beam seconds."""
    target_vocab = data["target_vocab"]
    val = list(
        pair_batches(data["val_encoded"], target_vocab, batch_size=128, shuffle=False, seed=0)
    )
    references, test = test_data(args, data)
    shared = save(
        {"val": [peer_batch(b) for b in val], "test": [peer_batch(b) for _, b in test]},
        folder, "epochs-batches.pt",
    )  # fmt: skip
    rows: list[Row] = []
    for feeding in feeding_modes(args, "off"):
        rows += build_pair(args, data, peer, folder, feeding, prefix="epochs ", batches=shared)
    history: dict[str, list[dict[str, Any]]] = {row.label: [] for row in rows}
    torch.manual_seed(1)
    for epoch in range(args.epochs):
        batches = epoch_batches(args, data, epoch)
        path = save({"train": [peer_batch(b) for b in batches]}, folder, "epoch.pt")
        for row in rows:
            if isinstance(row, RnnkitRow):
                row.batches = batches
            elif isinstance(row, OpennmtRow):
                peer.request("batches", name=row.name, batches=path)
        history_at = {row.label: len(row.losses) for row in rows}
        times = interleaved(
            {row.label: chunk_call(row, args.epochs_chunk) for row in rows},
            math.ceil(len(batches) / args.epochs_chunk),
        )
        tokens = sum(b.target_tokens for b in batches)
        for row in rows:
            seconds, loss = sum(times[row.label]), row.validation_loss(val)
            history[row.label].append(
                {
                    "epoch": epoch + 1, "batches": len(batches), "tokens": tokens,
                    "seconds": seconds, "tokens_per_s": tokens / seconds,
                    "train_loss": statistics.fmean(row.losses[history_at[row.label] :]),
                    "val_loss": loss, "val_perplexity": math.exp(min(loss, 700.0)),
                }
            )  # fmt: skip
            print(
                f"epoch {epoch + 1} {row.label}: {tokens / seconds:,.0f} target tokens/s, "
                f"{seconds:,.1f} s, validation loss {loss:.4f}",
                flush=True,
            )
    found, beam_seconds, steps = decode_test(rows, test, len(references))
    out: dict[str, Any] = {
        "epochs": args.epochs, "epochs_batches": args.epochs_batches or None,
        "chunk": args.epochs_chunk, "val_pairs": len(data["val_encoded"]), "val_batches": len(val),
        "test_pairs": len(references), "test_batches": len(test),
        "decode": {"beam": TEST.beam, "length_penalty": TEST.length_penalty,
                   "max_len": TEST.max_len, "batch": TEST.batch},
        "rows": [],
    }  # fmt: skip
    for row in rows:
        texts = [detokenize(target_vocab.decode(ids)) for ids in found[row.label]]
        scores = score_translations(texts, references)
        out["bleu_signature"], out["chrf_signature"] = scores.bleu_signature, scores.chrf_signature
        epochs = history[row.label]
        seconds = sum(e["seconds"] for e in epochs)
        out["rows"].append(
            {
                "variant": row.label, "system": row.system, "input_feeding": row.input_feeding,
                "epochs": epochs, "train_seconds": seconds,
                "tokens_per_s": sum(e["tokens"] for e in epochs) / seconds,
                "bleu": scores.bleu, "bleu_lc": scores.bleu_lc, "chrf": scores.chrf,
                "beam_seconds": beam_seconds[row.label],
                "sentences_per_s": len(references) / beam_seconds[row.label],
                "decoder_steps": steps[row.label],
                "mean_length": statistics.fmean(len(h) for h in found[row.label]),
                "samples": [{"reference": r, "translation": t}
                            for r, t in zip(references[:5], texts[:5], strict=False)],
            }
        )  # fmt: skip
        print(
            f"{row.label}: test BLEU {scores.bleu:.2f}, chrF {scores.chrf:.2f} "
            f"({beam_seconds[row.label]:,.1f} s of beam search)",
            flush=True,
        )
    print(f"BLEU: {out['bleu_signature']}\nchrF: {out['chrf_signature']}", flush=True)
    out["tokens_per_s_ratios"] = ratios(out["rows"], "tokens_per_s")
    out["sentences_per_s_ratios"] = ratios(out["rows"], "sentences_per_s")
    by = {(r["system"], r["input_feeding"]): r["bleu"] for r in out["rows"]}
    out["bleu_differences"] = {
        f"rnnkit{suffix} − OpenNMT-py{suffix}": by[("rnnkit", f)] - by[("OpenNMT-py", f)]
        for f, suffix in ((False, ""), (True, ", input feeding"))
        if ("rnnkit", f) in by
    }
    return out


def chunk_call(row: Row, chunk: int) -> Callable[[int], float]:
    """Row ``row``'s training of chunk r (batches [r·chunk, (r + 1)·chunk))."""
    return lambda r: row.train(r * chunk, chunk)


def decode_test(
    rows: list[Row], test: list[tuple[list[int], Seq2SeqBatch]], sentences: int
) -> tuple[dict[str, list[list[int]]], dict[str, float], dict[str, int]]:
    """Every row's best hypothesis of every test sentence (in input order), the rows taking
    turns per batch; and each row's seconds and decoder steps."""
    found: dict[str, list[list[int]]] = {row.label: [[] for _ in range(sentences)] for row in rows}
    steps = dict.fromkeys(found, 0)

    def call(row: Row) -> Callable[[int], float]:
        def one(index: int) -> float:
            positions, batch = test[index]
            seconds, best, n = row.translate(index, batch)
            for position, ids in zip(positions, best, strict=True):
                found[row.label][position] = ids
            steps[row.label] += n
            return seconds

        return one

    times = interleaved({row.label: call(row) for row in rows}, len(test))
    return found, {label: sum(seconds) for label, seconds in times.items()}, steps


# ---------------------------------------------------------------------------------------------
# report


def markdown(report: dict[str, Any]) -> str:
    env, s = report["environment"], report["sizes"]
    L, H = s["enc_layers"], s["enc_hidden"]
    lines = [
        f"# Seq2seq speed: rnnkit vs OpenNMT-py ({report['date']})",
        "",
        f"Multi30k de→en, {report['data']['train_batches']} training batches of {s['batch']} "
        f"sentence pairs (the same for every row). E {s['embedding']}, encoder {L} × {H} "
        f"bidirectional LSTM, decoder {L} × {2 * H} LSTM, Luong general attention, h̃ = "
        f"tanh(W_c [c; h]), target vocabulary {report['data']['target_vocab']:,} (source "
        f"{report['data']['source_vocab']:,}), label smoothing {LABEL_SMOOTHING:g}, Adam lr "
        f"{LR:g}, clip {CLIP:g}, dropout {report['recipe']['dropout']:g}, float32, device "
        f"{report['device']}. Training: median of {s['repeats']} rounds of {s['steps']} batches "
        f"after {s['warmup']} warm-up batch(es), the rows taking turns. Ratio = rnnkit ÷ "
        "OpenNMT-py (> 1: rnnkit faster).",
        "",
        "| variant | target tokens/s (median) | range | ms / batch | mean loss (timed) |",
        "|---|---|---|---|---|",
    ]
    for row in report["training"]:
        lines.append(
            f"| {row['variant']} | {row['tokens_per_s']:,.0f} | "
            f"{row['tokens_per_s_min']:,.0f}–{row['tokens_per_s_max']:,.0f} | "
            f"{row['ms_per_batch']:.1f} | {row['mean_loss_timed']:.4f} |"
        )
    lines += ["", "| ratio (training) | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f}× |" for k, v in report["training_ratios"].items()]
    L = s["beam_length"]
    lines += [
        "",
        f"Beam search after training (each row its own model), at a fixed length: beam "
        f"{s['beam']}, {s['beam_sentences']} validation sentences of ≥ "
        f"{report['data']['beam_shortest_source']} source tokens in one batch, scores / length, "
        f"minimum = maximum length {L} (<eos> barred before {L} tokens, every sentence cut at "
        f"{L}: each system takes exactly {L} decoder steps, counted and checked), median of "
        f"{s['beam_repeats']} runs after one warm-up run.",
        "",
        "| variant | sentences/s (median) | range | decoder steps | ms / step | mean length |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["beam"]:
        lines.append(
            f"| {row['variant']} | {row['sentences_per_s']:,.1f} | "
            f"{row['sentences_per_s_min']:,.1f}–{row['sentences_per_s_max']:,.1f} | "
            f"{row['decoder_steps']} | {row['ms_per_step']:.1f} | {row['mean_length']:.1f} |"
        )
    lines += ["", "| ratio (beam search) | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f}× |" for k, v in report["beam_ratios"].items()]
    parity = report["parity"]
    checks = ", ".join(
        f"{key} {parity[key]['max_abs_loss_diff']:.1e} / {parity[key]['max_abs_grad_diff']:.1e}"
        for key in ("no input feeding", "input feeding")
    )
    backends = "; ".join(
        f"{row['variant']}: "
        + ", ".join(f"{part} {ran}" for part, ran in row["backend_ran"].items())
        for row in report["training"]
        if row["backend_ran"]
    )
    lines += [
        "",
        f"- CPU: {env['cpu']} ({env['cpu_count']} logical CPUs; load average "
        f"{env['load_before']} before, {env['load_after']} after)",
        f"- rnnkit {env['rnnkit']} on torch {env['torch']}; OpenNMT-py {env['opennmt_py']} on "
        f"torch {env['peer_torch']} (its own environment); Python {env['python']}",
        f"- rnnkit ran: {backends}",
        f"- rnnkit's bridge: {report['bridge']} ({BRIDGE_TEXT[report['bridge']]}); "
        "difference kept: input feeding of the dropped-out h̃ (OpenNMT-py) or the undropped "
        "one (rnnkit)",
        f"- checks (float64, E {parity['sizes']['embedding']}, {parity['sizes']['enc_layers']} "
        f"× {parity['sizes']['enc_hidden']} bidirectional, one real batch of "
        f"{parity['sentences']}{PINNED[report['bridge']]}): summed loss and every "
        f"gradient equal, max |Δ loss| / |Δ grad|: {checks}",
        f"- command: `{report['command']}`",
    ]
    if report["quick"]:
        lines.append("- `--quick`: tiny sizes, a smoke run; these numbers measure nothing")
    if report["epochs"]:
        lines += ["", *epochs_markdown(report["epochs"], s["batch"])]
    return "\n".join(lines) + "\n"


def epochs_markdown(report: dict[str, Any], batch: int) -> list[str]:
    """The ``--epochs`` section."""
    cap = report["epochs_batches"]
    decode = report["decode"]
    lines = [
        f"## Test BLEU after {report['epochs']} epoch(s), the same for both",
        "",
        f"Both systems trained from the same initial weights, {report['epochs']} epoch(s) of "
        + (f"the first {cap} batches" if cap else "the whole training set")
        + f" in batches of {batch} pairs, the same batches in the same order (rnnkit's "
        "`pair_batches`, seed 0, `set_epoch(e)`), the rows taking turns per "
        f"{report['chunk']} batches; target "
        "tokens/s over each epoch, each system's own clock. Validation loss: NLL per target "
        f"token under teacher forcing, no smoothing, dropout off, {report['val_pairs']:,} "
        "validation pairs, the same computation on each system's own model. Test: "
        f"{report['test_pairs']:,} test2016 pairs in {report['test_batches']} batches of ≤ "
        f"{decode['batch']} (sorted by source length, the rows taking turns per batch), beam "
        f'{decode["beam"]}, scores / length (OpenNMT-py: "avg", alpha 1), at most '
        f"{decode['max_len']} tokens, each system its own stopping rule and per-sentence limit "
        "(rnnkit min(100, 2·n + 10), OpenNMT-py min(100, 1.5·S + 5)); outputs detokenised as "
        "rnnkit's evaluation does, sacrebleu corpus scores against the references.",
        "",
        "| variant | epoch | target tokens/s | seconds | train loss (smoothed) | val loss | val "
        "perplexity |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        for e in row["epochs"]:
            lines.append(
                f"| {row['variant']} | {e['epoch']} | {e['tokens_per_s']:,.0f} | "
                f"{e['seconds']:,.1f} | {e['train_loss']:.4f} | {e['val_loss']:.4f} | "
                f"{e['val_perplexity']:,.2f} |"
            )
    lines += [
        "",
        "| variant | training s | tokens/s | test BLEU | BLEU (lc) | chrF | beam s | "
        "sentences/s | decoder steps | mean length |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['variant']} | {row['train_seconds']:,.1f} | {row['tokens_per_s']:,.0f} | "
            f"{row['bleu']:.2f} | {row['bleu_lc']:.2f} | {row['chrf']:.2f} | "
            f"{row['beam_seconds']:,.1f} | {row['sentences_per_s']:,.1f} | "
            f"{row['decoder_steps']:,} | {row['mean_length']:.1f} |"
        )
    lines += ["", "| rnnkit vs OpenNMT-py | value |", "|---|---|"]
    lines += [
        f"| training tokens/s: {k} | {v:.3f}× |" for k, v in report["tokens_per_s_ratios"].items()
    ]
    lines += [
        f"| beam sentences/s: {k} | {v:.3f}× |" for k, v in report["sentences_per_s_ratios"].items()
    ]
    lines += [f"| test BLEU: {k} | {v:+.2f} |" for k, v in report["bleu_differences"].items()]
    lines += [
        "",
        f"- BLEU: `{report['bleu_signature']}`",
        f"- chrF: `{report['chrf_signature']}`",
    ]
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, what in (
        ("embedding", "word vector size E (both sides)"),
        ("enc_layers", "LSTM layers L of the encoder, and so of the decoder"),
        ("enc_hidden", "encoder units H per direction (the decoder has 2H)"),
        ("batch", "sentence pairs B per training batch"),
        ("steps", "training batches K per timed round"),
        ("repeats", "timed training rounds R"),
        ("warmup", "untimed training batches W per row"),
        ("beam", "beam size"),
        ("beam_sentences", "validation sentences N decoded in one batch"),
        ("beam_repeats", "timed beam-search runs"),
        ("beam_length", "the beam rows' length L: every sentence decodes exactly L steps"),
    ):
        parser.add_argument(
            f"--{flag.replace('_', '-')}", dest=flag, type=int,
            help=f"{what} (default {FULL[flag]}; --quick {QUICK[flag]})",
        )  # fmt: skip
    parser.add_argument("--dropout", type=float, default=0.3, help="dropout p (default 0.3)")
    parser.add_argument(
        "--bridge", choices=("copy", "linear"), default="copy",
        help="rnnkit's bridge: copy (default; the encoder's final states, as OpenNMT-py's "
        "default, so the two models are the same) or linear (rnnkit's tanh(W [h→; h←]))",
    )  # fmt: skip
    parser.add_argument(
        "--input-feeding", choices=("off", "on", "both"),
        help="rows without input feeding, with it, or both (default: both for the timing rows, "
        "off for the --epochs mode)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs", type=int, default=0,
        help="then train both systems N epochs over the whole training set and score test2016 "
        "BLEU (default 0: off)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs-batches", type=int, default=0,
        help="--epochs mode: only the first K batches of each epoch (a smoke run; default 0: all)",
    )  # fmt: skip
    parser.add_argument(
        "--epochs-chunk", type=int, default=10,
        help="--epochs mode: training batches per turn, the rows taking turns (default 10)",
    )  # fmt: skip
    parser.add_argument(
        "--test-sentences", type=int, default=0,
        help="--epochs mode: only the first M test sentences (a smoke run; default 0: all 1,000)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--peer-python", type=Path, default=PEER_PYTHON,
        help="the Python of OpenNMT-py's environment (default .peers/opennmt/bin/python)",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few batches (smoke)")
    parser.add_argument(
        "--out",
        help="path of the results without suffix: <out>.md and <out>.json are written (default "
        "benchmarks/results/seq2seq-speed-<date>, with --quick seq2seq-speed-<date>-quick)",
    )
    args = parser.parse_args(argv)
    for flag, value in (QUICK if args.quick else FULL).items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    for flag in FULL:
        if getattr(args, flag) < (0 if flag == "warmup" else 1):
            parser.error(f"--{flag.replace('_', '-')} must be ≥ 1, got {getattr(args, flag)}")
    for flag in ("epochs", "epochs_batches", "test_sentences"):
        if getattr(args, flag) < 0:
            parser.error(f"--{flag.replace('_', '-')} must be ≥ 0, got {getattr(args, flag)}")
    if args.epochs_chunk < 1:
        parser.error(f"--epochs-chunk must be ≥ 1, got {args.epochs_chunk}")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if not args.peer_python.is_file():
        parser.error(
            f"no OpenNMT-py environment at {args.peer_python}: make it as the script's "
            "docstring says (python3 -m venv .peers/opennmt, then torch==2.13.0 and "
            "opennmt-py==3.5.1 --no-deps), or name its Python with --peer-python"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    date = datetime.date.today().isoformat()
    quick = "-quick" if args.quick else ""
    out = Path(args.out) if args.out else RESULTS / f"seq2seq-speed-{date}{quick}"
    load_before = [round(x, 2) for x in os.getloadavg()]
    data = load_data(args)
    source_vocab, target_vocab = data["source_vocab"], data["target_vocab"]
    peer = Peer(args.peer_python, args.threads)
    try:
        peer.request("vocab", src=tokens_of(source_vocab), tgt=tokens_of(target_vocab))
        with tempfile.TemporaryDirectory(prefix="bench-seq2seq-") as tmp:
            folder = Path(tmp)
            small = collate_pairs(
                data["train_encoded"][: PARITY["sentences"]], bos=target_vocab.index(BOS),
                eos=target_vocab.index(EOS),
            )  # fmt: skip
            parity = check_parity(
                peer, small, len(source_vocab), len(target_vocab), target_vocab.index(BOS),
                target_vocab.index(EOS), folder, args.bridge,
            )  # fmt: skip
            print(f"checks passed: {json.dumps(parity)}", flush=True)
            rows = build_rows(args, data, peer, folder)
            training = time_training(args, rows, data["train"])
            for row in training:
                print(f"{row['variant']}: {row['tokens_per_s']:,.0f} target tokens/s", flush=True)
            beam = time_beam(args, rows, int(data["beam"].source.shape[0]))
            for row in beam:
                print(f"{row['variant']}: {row['sentences_per_s']:,.2f} sentences/s", flush=True)
            del rows
            epochs = run_epochs(args, data, peer, folder) if args.epochs else None
    finally:
        peer.close()
    report = {
        "date": date,
        "device": device_description("cpu"),
        "quick": args.quick,
        "sizes": {k: getattr(args, k) for k in FULL}
        | {"dec_layers": args.enc_layers, "dec_hidden": 2 * args.enc_hidden},
        "recipe": {
            "optimizer": f"Adam lr {LR:g}, betas 0.9/0.999, eps 1e-8",
            "clip_norm": CLIP,
            "label_smoothing": LABEL_SMOOTHING,
            "dropout": args.dropout,
            "dtype": "float32",
            "attention": "general",
            "beam_length_penalty": LENGTH_PENALTY,
            "beam_min_len": args.beam_length,
            "beam_max_len": args.beam_length,
            "opennmt_argv": {
                f"-input_feed {int(feeding)}": opennmt_argv(
                    {k: getattr(args, k) for k in ("embedding", "enc_layers", "enc_hidden")},
                    input_feeding=feeding,
                    dropout=args.dropout,
                )
                for feeding in (False, True)
            },
        },
        "data": {
            "dataset": "multi30k-de-en",
            "train_pairs": len(data["train_encoded"]),
            "train_batches": len(data["train"]),
            "beam_sentences": int(data["beam"].source.shape[0]),
            "beam_shortest_source": beam_shortest_source(args.beam_length),
            "source_vocab": len(source_vocab),
            "target_vocab": len(target_vocab),
        },
        "bridge": args.bridge,
        "command": " ".join([sys.executable, *sys.argv]).replace(str(Path.cwd()) + "/", ""),
        "environment": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "torch": torch.__version__,
            "rnnkit": rnnkit.__version__,
            "python": platform.python_version(),
            "opennmt_py": peer.hello["opennmt_py"],
            "peer_torch": peer.hello["torch"],
            "peer_python": peer.hello["python"],
            "peer_threads": peer.hello["threads"],
        },
        "parity": parity,
        "training": training,
        "training_ratios": ratios(training, "tokens_per_s"),
        "beam": beam,
        "beam_ratios": ratios(beam, "sentences_per_s"),
        "epochs": epochs,
    }
    text = markdown(report)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.md").write_text(text)
    Path(f"{out}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}.md and {out}.json")


if __name__ == "__main__":
    main()
