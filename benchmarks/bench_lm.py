"""rnnkit's word-level language model against the same model in plain torch, in one run.

Measured side by side: training tokens/s, with and without weight drop, and generation latency
per token.

The model is Zaremba et al.'s small one, as pytorch/examples' ``word_language_model`` builds it
(``--model LSTM --emsize 200 --nhid 200 --nlayers 2``, here without dropout): embedding (V, E) →
a 2-layer LSTM of H units → a linear decoder (H → V), embedding and decoder uniform in ±0.1, the
decoder's bias zero. Both sides train on the same random token ids of a V-word vocabulary, one
stream cut into B contiguous rows and read T steps at a time (rnnkit's ``StreamBatches``;
pytorch/examples' ``batchify``/``get_batch`` for the torch side, which reads the same numbers
time-major), the state carried from each batch to the next and cut from the graph, as truncated
BPTT trains; the same optimizer (``torch.optim.SGD``, lr 1, no momentum: pytorch/examples'
``p.data.add_(p.grad, alpha=-lr)``), gradient norm clipped at 0.25; float32, CPU, ``--threads``
torch threads (1 by default). Every model starts from the same weights (the torch model's,
copied into the rnnkit ones).

Training rows:

- ``rnnkit`` (``backend="auto"``) and ``rnnkit fused``: ``rnnkit.tasks.lm.LanguageModel``, each
  step the body of ``rnnkit.training.Trainer``'s epoch loop (``forward_loss`` → sum / tokens,
  backward, clip, SGD step, ``end_step``, which detaches the carried state);
- ``torch``: pytorch/examples' ``RNNModel`` (:class:`RNNModel` below: ``nn.Embedding`` →
  ``nn.LSTM(E, H, 2)`` → ``nn.Linear(H, V)``, ``log_softmax`` + NLL), its training step
  (``repackage_hidden``, forward, backward, clip, step);
- the same three with DropConnect p = ``--weight-drop`` (0.5) on the recurrent weights
  ``weight_hh_l{k}``: rnnkit through its layer option (``EncoderConfig(weight_drop=p)``), torch
  through the usual ``WeightDrop`` wrapper (:class:`WeightDrop`, AWD-LSTM's / fastai's recipe:
  the Parameters kept as ``weight_hh_l{k}_raw``, and before each forward a fresh
  ``F.dropout(raw, p)`` assigned to the module as a plain tensor).

Tokens/s = K steps × B × T tokens over the median of R timed runs of K steps, after W warm-up
steps; the variants run in turn, in a rotating order, round after round, so that a busy machine
slows all alike. Beside the wall time, each run's CPU seconds of this process
(``time.process_time``) give tokens/s by CPU time: with one torch thread, what the steps cost
whatever else waits for the cores (on a shared machine wall time also counts the waits, which
the median and the turns only even out). Ratios are rnnkit's tokens/s over torch's (> 1: rnnkit
faster), by wall time and by CPU time: ``rnnkit`` over ``torch`` without weight drop, and with
it. The project's goal: no slower without weight drop, faster with it.

Generation: N (``--tokens``) tokens one at a time at batch 1 (feed the last token, carry the
state, sample at temperature 1): rnnkit's ``TextGenerator.generate`` (over a ``Vocab`` of V
tokens) against pytorch/examples' ``generate.py`` loop over the torch model (``model(input,
hidden)``, ``output.squeeze().div(temperature).exp()`` — the softmax, since the model returns
log-probabilities —, ``torch.multinomial``, ``input.fill_``, the word looked up); ms per token
is the median of R runs of N tokens over N, the two alternating.

Before timing, float64 checks at small sizes (all asserted): the two sides read the same batches;
rnnkit (auto and fused) and torch give the same losses and gradients over consecutive batches
with the state carried; the ``WeightDrop`` wrapper really uses the dropped weights (in eval its
output is the plain LSTM's, in training it changes with the draw and equals a functional call of
the plain LSTM with masks drawn from the same seed, and the gradient reaches the raw weights);
and rnnkit's ``weight_drop`` and the wrapper, from the same seed, draw the same masks and give the
same losses and gradients.

Writes ``<out>.json`` and ``<out>.md`` (default ``benchmarks/results/lm-speed-<date>``, with
``--quick`` ``lm-speed-<date>-quick``) and prints the table. Nothing goes to
``benchmarks/results/speed.jsonl``: its lines are layer-level (one recurrent layer's forward +
backward, ``config``/``impl``/``batch``/``steps``/``hidden``/``median_ms``/``vs_loop``/
``vs_torch``), with no place for a whole model's tokens/s, the vocabulary and embedding sizes, or
weight drop, and no loop row to give ``vs_loop``.

    .venv/bin/python benchmarks/bench_lm.py            # Zaremba small sizes, 1 thread
    .venv/bin/python benchmarks/bench_lm.py --quick    # tiny sizes, a few steps (smoke run)
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnnkit
from rnnkit._machine import cpu_model
from rnnkit.tasks.encoder import EncoderConfig
from rnnkit.tasks.generation import TextGenerator
from rnnkit.tasks.lm import LanguageModel, LMConfig
from rnnkit.tasks.lm_data import LMBatch, StreamBatches
from rnnkit.text import Vocab

RESULTS = Path(__file__).resolve().parent / "results"
LAYERS, INIT_RANGE, LR, CLIP = 2, 0.1, 1.0, 0.25  # pytorch/examples' word_language_model
FULL = {
    "vocab": 10000, "embedding": 200, "hidden": 200, "batch": 20, "bptt": 35, "steps": 20,
    "repeats": 10, "warmup": 5, "tokens": 500,
}  # fmt: skip
QUICK = {
    "vocab": 500, "embedding": 32, "hidden": 32, "batch": 4, "bptt": 10, "steps": 3,
    "repeats": 3, "warmup": 1, "tokens": 20,
}  # fmt: skip

Hidden = tuple[Tensor, Tensor]


# ---------------------------------------------------------------------------------------------
# the plain-torch model (pytorch/examples, word_language_model/model.py) and WeightDrop


class WeightDrop(nn.Module):
    """DropConnect on an ``nn.LSTM``'s recurrent weights, the usual way (AWD-LSTM's WeightDrop,
    fastai's WeightDropout): each ``weight_hh_l{k}`` Parameter is removed from the module and
    kept here as ``weight_hh_l{k}_raw``; before each forward ``F.dropout(raw, p)`` (in training;
    the raw weights in eval) is assigned to the module as a plain tensor attribute, and the
    module's ``_flat_weights``, which its kernel reads, is refreshed from its attributes."""

    def __init__(self, module: nn.LSTM, p: float) -> None:
        super().__init__()
        self.module, self.p = module, p
        self.names = [f"weight_hh_l{k}" for k in range(module.num_layers)]
        for name in self.names:
            weight = getattr(module, name)
            del module._parameters[name]
            self.register_parameter(f"{name}_raw", nn.Parameter(weight.detach().clone()))
        self._set_weights(drop=False)  # no draw here: building the model takes no random numbers

    def _set_weights(self, drop: bool) -> None:
        for name in self.names:
            raw = getattr(self, f"{name}_raw")
            dropped = F.dropout(raw, self.p, training=True) if drop else raw.view_as(raw)
            setattr(self.module, name, dropped)  # a Tensor, not a Parameter: not re-registered
        # fastai's refresh; torch 2.x's RNNBase.__setattr__ also updates the list itself
        self.module._flat_weights = [
            getattr(self.module, n) for n in self.module._flat_weights_names
        ]

    def forward(self, x: Tensor, hidden: Hidden) -> tuple[Tensor, Hidden]:
        self._set_weights(drop=self.training)
        with warnings.catch_warnings():  # cuDNN's "not a single contiguous chunk" (GPU only)
            warnings.simplefilter("ignore", UserWarning)
            out: tuple[Tensor, Hidden] = self.module(x, hidden)
        return out


class RNNModel(nn.Module):
    """pytorch/examples' ``RNNModel`` for ``--model LSTM``, without its dropout layer (dropout 0):
    encoder (embedding) → LSTM → decoder, log-probabilities (T·B, V); time-major input (T, B)."""

    def __init__(
        self, ntoken: int, ninp: int, nhid: int, nlayers: int, weight_drop: float = 0.0
    ) -> None:
        super().__init__()
        self.ntoken, self.nhid, self.nlayers = ntoken, nhid, nlayers
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn: nn.Module = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        nn.init.uniform_(self.encoder.weight, -INIT_RANGE, INIT_RANGE)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -INIT_RANGE, INIT_RANGE)
        if weight_drop:
            self.rnn = WeightDrop(self.lstm, weight_drop)

    @property
    def lstm(self) -> nn.LSTM:
        module = self.rnn.module if isinstance(self.rnn, WeightDrop) else self.rnn
        assert isinstance(module, nn.LSTM)
        return module

    def forward(self, input: Tensor, hidden: Hidden) -> tuple[Tensor, Hidden]:
        emb = self.encoder(input)
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(output).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz: int) -> Hidden:
        weight = next(self.parameters())
        return (
            weight.new_zeros(self.nlayers, bsz, self.nhid),
            weight.new_zeros(self.nlayers, bsz, self.nhid),
        )


def repackage_hidden(h: Hidden) -> Hidden:
    """pytorch/examples: the hidden state cut from its history."""
    return (h[0].detach(), h[1].detach())


def batchify(data: Tensor, bsz: int) -> Tensor:
    """pytorch/examples: the stream as (N/B, B), column b the b-th contiguous row."""
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


def get_batch(source: Tensor, i: int, bptt: int) -> tuple[Tensor, Tensor]:
    """pytorch/examples: inputs (T, B) and flattened targets (T·B,) from row i."""
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].reshape(-1)


# ---------------------------------------------------------------------------------------------
# rnnkit's model, and the weights copied across


def rnnkit_model(
    vocab: int, embedding: int, hidden: int, *, backend: str = "auto", weight_drop: float = 0.0
) -> LanguageModel:
    encoder = EncoderConfig(
        cell="lstm", hidden_size=hidden, num_layers=LAYERS, bidirectional=False,
        backend=backend, weight_drop=weight_drop,
    )  # fmt: skip
    config = LMConfig(embedding_dim=embedding, init_range=INIT_RANGE, encoder=encoder)
    return LanguageModel(config, vocab, level="word")


def torch_weight(plain: RNNModel, name: str) -> Tensor:
    """One of the torch LSTM's weights by its torch name: the raw one under WeightDrop."""
    if isinstance(plain.rnn, WeightDrop) and name in plain.rnn.names:
        weight: Tensor = getattr(plain.rnn, f"{name}_raw")
        return weight
    weight = getattr(plain.lstm, name)
    return weight


def pairs(ours: LanguageModel, plain: RNNModel) -> Iterator[tuple[Tensor, Tensor]]:
    """(rnnkit parameter, torch parameter) for every weight of the two models."""
    yield ours.embedding.weight, plain.encoder.weight
    yield ours.decoder.weight, plain.decoder.weight
    yield ours.decoder.bias, plain.decoder.bias
    for k, layer in enumerate(ours.layers):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            yield getattr(layer, f"{kind}_l0"), torch_weight(plain, f"{kind}_l{k}")


def copy_weights(plain: RNNModel, ours: LanguageModel) -> None:
    with torch.no_grad():
        for mine, theirs in pairs(ours, plain):
            mine.copy_(theirs)


# ---------------------------------------------------------------------------------------------
# training steps


class Trainee:
    """One row's model, optimizer, batches and carried state; :meth:`run` takes k steps."""

    label: str

    def __init__(self, label: str, weight_drop: float) -> None:
        self.label, self.weight_drop = label, weight_drop
        self.losses: list[float] = []
        self.position = 0

    def run(self, k: int) -> None:
        for _ in range(k):
            self.losses.append(self.step())

    def step(self) -> float:
        raise NotImplementedError

    def backend(self) -> str | None:
        return None


class RnnkitTrainee(Trainee):
    """rnnkit's LanguageModel, stepped as ``Trainer._train_epoch`` steps it."""

    def __init__(
        self, label: str, model: LanguageModel, batches: list[LMBatch], weight_drop: float
    ) -> None:
        super().__init__(label, weight_drop)
        self.model, self.batches = model, batches
        self.optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        model.train()
        model.start_epoch(train=True)

    def step(self) -> float:
        if self.position == len(self.batches):  # the stream ran out: a new epoch
            self.position = 0
            self.model.start_epoch(train=True)
        batch = self.batches[self.position]
        self.position += 1
        loss_sum, n = self.model(batch)
        loss = loss_sum / float(n)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()
        self.model.end_step()
        return float(loss.detach())

    def backend(self) -> str:
        """What the layers' last training calls ran."""
        used = set()
        for layer in self.model.layers:
            dispatch = getattr(layer, "last_training_dispatch", None)
            used.add("?" if dispatch is None else dispatch.backend)
        return ", ".join(sorted(used))

    def reasons(self) -> list[str | None]:
        """Why, per layer."""
        out = []
        for layer in self.model.layers:
            dispatch = getattr(layer, "last_training_dispatch", None)
            out.append(None if dispatch is None else str(dispatch.reason))
        return out


class TorchTrainee(Trainee):
    """pytorch/examples' training step over its batchified data."""

    def __init__(
        self, label: str, model: RNNModel, source: Tensor, bptt: int, batch: int,
        weight_drop: float,
    ) -> None:  # fmt: skip
        super().__init__(label, weight_drop)
        self.model, self.source, self.bptt, self.batch = model, source, bptt, batch
        self.optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        self.starts = list(range(0, source.size(0) - 1, bptt))
        self.hidden = model.init_hidden(batch)
        model.train()

    def step(self) -> float:
        if self.position == len(self.starts):
            self.position = 0
            self.hidden = self.model.init_hidden(self.batch)
        data, targets = get_batch(self.source, self.starts[self.position], self.bptt)
        self.position += 1
        self.optimizer.zero_grad(set_to_none=True)
        self.hidden = repackage_hidden(self.hidden)
        output, self.hidden = self.model(data, self.hidden)
        loss = F.nll_loss(output, targets)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()
        return loss.item()

    def backend(self) -> str:
        return "torch.nn.LSTM"


# ---------------------------------------------------------------------------------------------
# checks (float64, small sizes)


def max_diff(a: Tensor | None, b: Tensor | None) -> float:
    assert a is not None and b is not None
    return float((a - b).abs().max())


def check_parity(weight_drop: float) -> dict[str, Any]:
    """See the module docstring; returns the largest differences found."""
    V, E, H, B, T, steps = 53, 12, 16, 3, 5, 3
    dtype = torch.float64
    ids = torch.randint(V, (B * (steps * T + 1) + 2,), generator=torch.Generator().manual_seed(7))
    ours_batches = list(StreamBatches(ids, batch_size=B, bptt=T))[:steps]
    source = batchify(ids, B)
    theirs_batches = [get_batch(source, i, T) for i in range(0, steps * T, T)]
    for read, (data, targets) in zip(ours_batches, theirs_batches, strict=True):
        assert torch.equal(read.inputs, data.t()), "the two sides read different inputs"
        assert torch.equal(read.targets, targets.view(T, B).t()), "different targets"
    report: dict[str, Any] = {"same_batches": True}

    def losses_and_grads(model: nn.Module, rnnkit_side: bool, seed: int) -> list[float]:
        torch.manual_seed(seed)
        model.zero_grad(set_to_none=True)
        out, hidden = [], None
        if rnnkit_side:
            assert isinstance(model, LanguageModel)
            model.start_epoch(train=True)
            for batch in ours_batches:
                loss_sum, n = model(batch)
                (loss_sum / n).backward()
                model.end_step()
                out.append(float(loss_sum.detach() / n))
        else:
            assert isinstance(model, RNNModel)
            hidden = model.init_hidden(B)
            for data, targets in theirs_batches:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
                loss = F.nll_loss(output, targets)
                loss.backward()
                out.append(float(loss.detach()))
        return out

    undropped: list[float] = []
    for drop in (0.0, weight_drop):
        torch.manual_seed(0)
        plain = RNNModel(V, E, H, LAYERS, weight_drop=drop).to(dtype).train()
        theirs = losses_and_grads(plain, False, seed=1)
        if drop:  # the masks did something: not the losses without them
            assert min(abs(a - b) for a, b in zip(theirs, undropped, strict=True)) > 1e-6
        else:
            undropped = theirs
        for backend in ("auto", "fused"):
            ours = rnnkit_model(V, E, H, backend=backend, weight_drop=drop).to(dtype).train()
            copy_weights(plain, ours)
            mine = losses_and_grads(ours, True, seed=1)
            loss_diff = max(abs(a - b) for a, b in zip(mine, theirs, strict=True))
            grad_diff = max(max_diff(a.grad, b.grad) for a, b in pairs(ours, plain))
            key = f"{backend}{', weight drop' if drop else ''}"
            report[key] = {"max_abs_loss_diff": loss_diff, "max_abs_grad_diff": grad_diff}
            assert loss_diff <= 1e-10, f"{key}: losses differ by {loss_diff:.2e}"
            assert grad_diff <= 1e-10, f"{key}: gradients differ by {grad_diff:.2e}"
    report["weight_drop_wrapper"] = check_weight_drop(weight_drop)
    return report


def check_weight_drop(p: float) -> dict[str, Any]:
    """The wrapper's LSTM runs on the weights it assigned (see the module docstring)."""
    E, H, T, B = 6, 7, 4, 3
    dtype = torch.float64
    torch.manual_seed(0)
    plain = nn.LSTM(E, H, LAYERS).to(dtype)
    dropped = WeightDrop(nn.LSTM(E, H, LAYERS).to(dtype), p)
    with torch.no_grad():
        for name, param in plain.named_parameters():
            target = getattr(dropped, f"{name}_raw") if name in dropped.names else None
            (target if target is not None else getattr(dropped.module, name)).copy_(param)
    for name in dropped.names:  # the Parameter is gone from the LSTM, kept raw on the wrapper
        assert name not in dict(dropped.module.named_parameters()), name
        assert f"{name}_raw" in dict(dropped.named_parameters()), name
    x = torch.randn(T, B, E, dtype=dtype)
    h0 = (torch.randn(LAYERS, B, H, dtype=dtype), torch.randn(LAYERS, B, H, dtype=dtype))
    with torch.no_grad():
        reference, _ = plain(x, h0)
        dropped.eval()
        evaluated, _ = dropped(x, h0)
    assert torch.equal(evaluated, reference), "in eval the wrapper must be the plain LSTM"
    dropped.train()
    torch.manual_seed(5)
    first, _ = dropped(x, h0)
    second, _ = dropped(x, h0)
    assert not torch.allclose(first, reference), "training output did not change with the mask"
    assert not torch.allclose(first, second), "two draws gave the same output"
    torch.manual_seed(5)  # the same masks, drawn in the wrapper's order, run by the plain LSTM
    weights: dict[str, Tensor] = dict(plain.named_parameters())
    for name in dropped.names:
        weights[name] = F.dropout(weights[name], p, training=True)
    functional, _ = torch.func.functional_call(plain, weights, (x, h0))
    diff = max_diff(first, functional)
    assert diff <= 1e-12, f"the wrapper's output is not its dropped weights' ({diff:.2e})"
    first.sum().backward()
    for name in dropped.names:
        grad = getattr(dropped, f"{name}_raw").grad
        assert grad is not None and bool(grad.abs().sum() > 0), f"no gradient reached {name}_raw"
    return {"eval_equals_plain": True, "train_equals_functional_call_max_abs_diff": diff}


# ---------------------------------------------------------------------------------------------
# timing


def interleaved(
    calls: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall seconds and CPU seconds of this process (``time.process_time``) of each call in each
    of ``repeats`` rounds, the order rotating every round."""
    names = list(calls)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            started, cpu_started = time.perf_counter(), time.process_time()
            calls[name]()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - cpu_started)
    return wall, cpu


def time_training(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    V, E, H, B, T = args.vocab, args.embedding, args.hidden, args.batch, args.bptt
    needed = args.warmup + args.repeats * args.steps  # batches per row: one pass, no wrap
    ids = torch.randint(V, (B * (needed * T + 1),), generator=torch.Generator().manual_seed(0))
    batches = list(StreamBatches(ids, batch_size=B, bptt=T))
    source = batchify(ids, B)
    assert len(batches) == needed == len(range(0, source.size(0) - 1, T))
    trainees: list[Trainee] = []
    drop = args.weight_drop
    for p in (0.0, drop):
        suffix = f", weight drop {p:g}" if p else ""
        torch.manual_seed(0)
        plain = RNNModel(V, E, H, LAYERS, weight_drop=p)
        for backend, label in (("auto", "rnnkit"), ("fused", "rnnkit fused")):
            ours = rnnkit_model(V, E, H, backend=backend, weight_drop=p)
            copy_weights(plain, ours)
            trainees.append(RnnkitTrainee(label + suffix, ours, batches, p))
        trainees.append(TorchTrainee("torch" + suffix, plain, source, T, B, p))
    torch.manual_seed(1)
    for trainee in trainees:
        trainee.run(args.warmup)
    calls: dict[str, Callable[[], object]] = {
        t.label: functools.partial(t.run, args.steps) for t in trainees
    }
    times, cpu_times = interleaved(calls, args.repeats)
    tokens = args.steps * B * T
    rows = []
    for trainee in trainees:
        seconds = times[trainee.label]
        median = statistics.median(seconds)
        rows.append(
            {
                "variant": trainee.label,
                "weight_drop": trainee.weight_drop,
                "backend_ran": trainee.backend(),
                "backend_reasons": (
                    trainee.reasons() if isinstance(trainee, RnnkitTrainee) else None
                ),
                "tokens_per_s": tokens / median,
                "tokens_per_s_min": tokens / max(seconds),
                "tokens_per_s_max": tokens / min(seconds),
                "ms_per_step": 1e3 * median / args.steps,
                "seconds": seconds,
                "cpu_tokens_per_s": tokens / statistics.median(cpu_times[trainee.label]),
                "cpu_seconds": cpu_times[trainee.label],
                "mean_loss_timed": statistics.fmean(trainee.losses[args.warmup :]),
                "last_loss": trainee.losses[-1],
            }
        )
    wd = f", weight drop {drop:g}"
    pairs = {
        "rnnkit / torch": ("rnnkit", "torch"),
        f"rnnkit{wd} / torch{wd}": (f"rnnkit{wd}", f"torch{wd}"),
        "rnnkit fused / torch (information)": ("rnnkit fused", "torch"),
        f"rnnkit fused{wd} / torch{wd} (information)": (f"rnnkit fused{wd}", f"torch{wd}"),
    }
    ratios: dict[str, float] = {}
    for key, label in (("tokens_per_s", ""), ("cpu_tokens_per_s", ", CPU time")):
        by = {row["variant"]: row[key] for row in rows}
        ratios |= {f"{name}{label}": by[a] / by[b] for name, (a, b) in pairs.items()}
    return rows, ratios


def time_generation(args: argparse.Namespace) -> dict[str, Any]:
    V, E, H, N = args.vocab, args.embedding, args.hidden, args.tokens
    torch.manual_seed(0)
    plain = RNNModel(V, E, H, LAYERS).eval()
    ours = rnnkit_model(V, E, H)
    copy_weights(plain, ours)
    vocab = Vocab([f"w{i}" for i in range(V - 1)], pad=None, unk="<unk>")
    assert len(vocab) == V
    generator = TextGenerator(ours, vocab, level="word", seed=0)
    generator.feed("w1")
    idx2word = [vocab.token(i) for i in range(V)]
    sampler = torch.Generator().manual_seed(0)
    temperature = 1.0
    state: dict[str, Any] = {
        "input": torch.tensor([[vocab.index("w1")]], dtype=torch.long),
        "hidden": plain.init_hidden(1),
    }

    def ours_run() -> None:
        for _ in generator.generate(N, temperature=temperature):
            pass

    def plain_run() -> None:  # pytorch/examples' generate.py loop
        input, hidden, words = state["input"], state["hidden"], []
        with torch.no_grad():
            for _ in range(N):
                output, hidden = plain(input, hidden)
                word_weights = output.squeeze().div(temperature).exp()
                word_idx = torch.multinomial(word_weights, 1, generator=sampler)[0]
                input.fill_(word_idx)
                words.append(idx2word[int(word_idx)])
        state["hidden"] = hidden

    ours_run()  # warm-up
    plain_run()
    times, _ = interleaved(
        {"rnnkit TextGenerator": ours_run, "torch loop": plain_run}, args.repeats
    )
    rows = {
        name: {
            "ms_per_token": 1e3 * statistics.median(seconds) / N,
            "ms_per_token_min": 1e3 * min(seconds) / N,
            "ms_per_token_max": 1e3 * max(seconds) / N,
            "seconds": seconds,
        }
        for name, seconds in times.items()
    }
    dispatch = getattr(ours.layers[0], "last_dispatch", None)
    return {
        "tokens": N,
        "rows": rows,
        "rnnkit_backend_ran": None if dispatch is None else dispatch.backend,
        # > 1: rnnkit faster (torch's ms per token over rnnkit's)
        "speed_ratio_rnnkit_over_torch": rows["torch loop"]["ms_per_token"]
        / rows["rnnkit TextGenerator"]["ms_per_token"],
    }


# ---------------------------------------------------------------------------------------------
# report


def markdown(report: dict[str, Any]) -> str:
    env, s = report["environment"], report["sizes"]
    lines = [
        f"# Language model speed: rnnkit vs plain torch ({report['date']})",
        "",
        f"V {s['vocab']:,}, E {s['embedding']}, H {s['hidden']}, {LAYERS} LSTM layers, batch "
        f"{s['batch']} × bptt {s['bptt']} (state carried and detached across batches), SGD lr "
        f"{LR:g}, clip {CLIP:g}, float32, device {report['device']}, {env['threads']} torch "
        f"thread(s). Training: median of {s['repeats']} timed runs of {s['steps']} steps after "
        f"{s['warmup']} warm-up step(s), the rows taking turns. Ratio = rnnkit tokens/s ÷ torch "
        "tokens/s (> 1: rnnkit faster).",
        "",
        "| variant | backend ran | tokens/s (median) | range | ms / step | tokens/s by CPU "
        "time | mean loss (timed) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["training"]:
        lines.append(
            f"| {row['variant']} | {row['backend_ran']} | {row['tokens_per_s']:,.0f} | "
            f"{row['tokens_per_s_min']:,.0f}–{row['tokens_per_s_max']:,.0f} | "
            f"{row['ms_per_step']:.2f} | {row['cpu_tokens_per_s']:,.0f} | "
            f"{row['mean_loss_timed']:.4f} |"
        )
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {name} | {value:.3f}× |" for name, value in report["ratios"].items()]
    gen = report["generation"]
    lines += [
        "",
        f"Generation at batch 1, {gen['tokens']} tokens per run, temperature 1, median of "
        f"{s['repeats']} runs (rnnkit's layers ran `{gen['rnnkit_backend_ran']}`):",
        "",
        "| generator | ms / token (median) | range |",
        "|---|---|---|",
    ]
    for name, row in gen["rows"].items():
        lines.append(
            f"| {name} | {row['ms_per_token']:.3f} | "
            f"{row['ms_per_token_min']:.3f}–{row['ms_per_token_max']:.3f} |"
        )
    lines += [
        f"| ratio (torch ms ÷ rnnkit ms; > 1: rnnkit faster) | "
        f"{gen['speed_ratio_rnnkit_over_torch']:.3f}× | |",
        "",
        f"- CPU: {env['cpu']} ({env['cpu_count']} logical CPUs; load average "
        f"{env['load_before']} before, {env['load_after']} after)",
        f"- torch {env['torch']}, rnnkit {env['rnnkit']}, Python {env['python']}",
        "- checks (float64): same batches; losses and gradients equal to torch's "
        + ", ".join(
            f"{key} {value['max_abs_loss_diff']:.1e} / {value['max_abs_grad_diff']:.1e}"
            for key, value in report["parity"].items()
            if isinstance(value, dict) and "max_abs_loss_diff" in value
        )
        + " (max |Δ loss| / |Δ grad|); the WeightDrop wrapper runs its dropped weights (eval = "
        "plain LSTM; training = functional call with the same masks, max |Δ| "
        f"{report['parity']['weight_drop_wrapper']['train_equals_functional_call_max_abs_diff']:.1e})",
        f"- command: `{report['command']}`",
    ]
    if report["quick"]:
        lines.append("- `--quick`: tiny sizes, a smoke run; these numbers measure nothing")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for flag, what in (
        ("vocab", "vocabulary size V"),
        ("embedding", "embedding size E"),
        ("hidden", "LSTM hidden size H"),
        ("batch", "rows B of each batch"),
        ("bptt", "steps T of each batch"),
        ("steps", "training steps K per timed run"),
        ("repeats", "timed runs R (training and generation)"),
        ("warmup", "untimed training steps W per row"),
        ("tokens", "generated tokens N per timed run"),
    ):
        parser.add_argument(
            f"--{flag}", type=int, help=f"{what} (default {FULL[flag]}; --quick {QUICK[flag]})"
        )
    parser.add_argument(
        "--weight-drop", type=float, default=0.5, help="DropConnect p (default 0.5)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few steps (smoke)")
    parser.add_argument(
        "--out",
        help="path of the results without suffix: <out>.md and <out>.json are written (default "
        "benchmarks/results/lm-speed-<date>, with --quick lm-speed-<date>-quick)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for flag, value in defaults.items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    if not 0 < args.weight_drop < 1:
        parser.error("--weight-drop must be in (0, 1)")
    torch.set_num_threads(args.threads)
    date = datetime.date.today().isoformat()
    out = (
        Path(args.out) if args.out else RESULTS / f"lm-speed-{date}{'-quick' if args.quick else ''}"
    )
    load_before = [round(x, 2) for x in os.getloadavg()]
    parity = check_parity(args.weight_drop)
    print(f"checks passed: {json.dumps(parity)}", flush=True)
    training, ratios = time_training(args)
    for row in training:
        print(f"{row['variant']}: {row['tokens_per_s']:,.0f} tokens/s", flush=True)
    generation = time_generation(args)
    report = {
        "date": date,
        "device": "cpu",
        "quick": args.quick,
        "sizes": {k: getattr(args, k) for k in FULL} | {"layers": LAYERS},
        "recipe": {
            "optimizer": f"SGD lr {LR:g}, no momentum",
            "clip_norm": CLIP,
            "init_range": INIT_RANGE,
            "weight_drop": args.weight_drop,
            "dtype": "float32",
        },
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
        },
        "parity": parity,
        "training": training,
        "ratios": ratios,
        "generation": generation,
    }
    text = markdown(report)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.md").write_text(text)
    Path(f"{out}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}.md and {out}.json")


if __name__ == "__main__":
    main()
