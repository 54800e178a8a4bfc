"""rnnkit's BiLSTM-CRF tagger against Flair's ``SequenceTagger``: the same data, sizes and recipe,
trained and timed in one run on this CPU.

Data: a seeded share (``--fraction``, 25%) of CoNLL-2003 ``eng.train``'s sentences as train,
``eng.testa`` as val, ``eng.testb`` as test, written as ``token POS chunk NER`` column files (the
NER tags converted from the files' IOB1 to IOB2, which marks the same entities, and without the
``-DOCSTART-`` lines) into a temporary folder, and read by Flair's ``ColumnCorpus`` and rnnkit's
``columns:`` reader. Only the words and the NER tags are used.

Both models: word embedding 100 (random, raw words: no lower-casing, no digit folding; vocabulary
= train words seen ≥ 3 times, as ``OneHotEmbeddings.from_corpus`` makes it), a character BiLSTM
(25-dim characters, 25 per direction: ``CharacterEmbeddings``' defaults) over a character
vocabulary built from train, a 1-layer BiLSTM with 256 per direction, a linear layer and a CRF
over BIOES tags; plain SGD (no momentum), batch 32, the same number of epochs, the weights of the
best validation epoch kept, 1 torch thread. Flair keeps its defaults (word dropout 0.05, locked
dropout 0.5, a 150×150 re-projection of the embeddings, random batches); rnnkit keeps its own
(dropout 0.5, word dropout 0.05, CRF transition constraints, length-bucketed batches) and drops
its casing feature, which Flair lacks. Flair's character dictionary would be downloaded by
default; it is built from the training words instead, so Flair runs offline (``HF_HUB_OFFLINE=1``,
``TRANSFORMERS_OFFLINE=1``).

The learning rate: Flair's ModelTrainer (SGD lr 0.1, gradient norm clipped at 5) backpropagates
the CRF loss *summed* over the batch's tokens; rnnkit's Trainer backpropagates it *averaged* over
them, a gradient about 460 times smaller (the tokens of a batch of 32), so the same numbers are
another rule there. Flair's summed gradient is far above norm 5 at every step (the run records
it), so each Flair step is 0.1 × 5 = 0.5 long, along the gradient; rnnkit takes the same step with
lr 50 and clip 0.01 (its averaged gradient is above 0.01 at every step, also recorded). That is
the ``rnnkit`` row. ``rnnkit, lr 0.1`` (clip 5) is the literal numbers, for information: never
clipped, its steps are about ten times shorter than Flair's (``--no-literal`` skips it).

Measured: training tokens/s (tokens of the train split × epochs over the wall time of the
training epochs alone, by this script's own ``time.perf_counter`` at each system's epoch hooks:
Flair's ``before_training_epoch``/``after_training_epoch`` plugin events, rnnkit's
``on_epoch_start``/last ``on_batch_end`` callbacks; validation, checkpoints, vocabularies and data
loading are outside it); inference tokens/s (tagging the test split from its words at batch 32,
the median of ``--inference-rounds`` rounds, the systems alternating); and test F1, every system's
predictions scored by rnnkit's conlleval port (``entity_report``), beside Flair's own micro-F1 and
rnnkit's ``run.evaluate("test")``. Training runs back to back (rnnkit, Flair, rnnkit lr 0.1), so
load on the shared machine hits them alike. Writes ``<out>.json`` and ``<out>.md``.

    PYTHONPATH=src .peers/flair/bin/python benchmarks/bench_tagger_flair.py --epochs 1 \\
        --out benchmarks/results/tagger-flair-2026-12-01

(the peer environment: ``python3 -m venv .peers/flair && .peers/flair/bin/pip install
torch==2.13.0``, then ``.peers/flair/bin/pip install flair numpy safetensors tqdm matplotlib
pyyaml -c constraints.txt`` with the line ``torch==2.13.0`` in constraints.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

import rnnkit
from rnnkit._machine import cpu_model
from rnnkit.datasets import TaggedSentence, read_columns
from rnnkit.metrics.entities import entity_report
from rnnkit.text.tags import convert, spans
from rnnkit.training import Callback

REPO = Path(__file__).resolve().parents[1]
HIDDEN, WORD_DIM, CHAR_DIM, CHAR_HIDDEN = 256, 100, 25, 25
BATCH, MIN_FREQ = 32, 3
FLAIR_LR, FLAIR_CLIP = 0.1, 5.0  # Flair's ModelTrainer defaults, on the summed loss
RNNKIT_LR, RNNKIT_CLIP = 50.0, 0.01  # the same step (lr × clip = 0.5), on the averaged loss
# The peer environment's packages whose versions the report records.
PACKAGES = ("flair", "torch", "transformers", "huggingface-hub", "numpy", "safetensors")


def default_data() -> Path:
    root = os.environ.get("RNNKIT_DATA")
    return (Path(root) if root else REPO.parent / "shared" / "data") / "conll2003"


# ---------------------------------------------------------------------------------------------
# data


def write_columns(path: Path, sentences: Sequence[TaggedSentence]) -> None:
    """``token POS chunk NER`` lines, the NER tags in IOB2, a blank line after each sentence."""
    lines = []
    for s in sentences:
        tags = convert(list(s.tags), "iob1", "iob2")
        assert spans(tags, "iob2") == spans(list(s.tags), "iob1")  # the same entities
        for token, pos, chunk, tag in zip(s.tokens, *s.features, tags, strict=True):
            lines.append(f"{token} {pos} {chunk} {tag}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_data(source: Path, folder: Path, fraction: float, seed: int) -> dict[str, Any]:
    """train.txt (a seeded ``fraction`` of eng.train's sentences, in file order), val.txt
    (eng.testa), test.txt (eng.testb) in ``folder``; their sizes."""
    read = {
        name: read_columns(source / f"eng.{name}", features=(1, 2), scheme="iob1")
        for name in ("train", "testa", "testb")
    }
    full = read["train"]
    chosen = sorted(random.Random(seed).sample(range(len(full)), round(fraction * len(full))))
    splits = {"train": [full[i] for i in chosen], "val": read["testa"], "test": read["testb"]}
    sizes = {}
    for name, sentences in splits.items():
        write_columns(folder / f"{name}.txt", sentences)
        sizes[name] = {
            "sentences": len(sentences),
            "tokens": sum(len(s.tokens) for s in sentences),
        }
    sizes["eng.train"] = {"sentences": len(full), "tokens": sum(len(s.tokens) for s in full)}
    return sizes


def gold_tags(folder: Path, split: str) -> list[list[str]]:
    return [list(s.tags) for s in read_columns(folder / f"{split}.txt", scheme="iob2")]


# ---------------------------------------------------------------------------------------------
# Flair


class FlairSide:
    """Flair's SequenceTagger on the column files, trained with Flair's ModelTrainer."""

    name, label = "flair", "Flair"

    def __init__(self, folder: Path, work: Path, seed: int) -> None:
        import flair
        from flair.data import Dictionary
        from flair.datasets import ColumnCorpus
        from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
        from flair.models import SequenceTagger

        self.work = work
        self.version = f"Flair {flair.__version__}"
        self.recipe = f"SGD lr {FLAIR_LR}, clip {FLAIR_CLIP}, loss summed over the batch"
        flair.device = torch.device("cpu")
        flair.set_seed(seed)
        self.log_lines: list[str] = []
        self._keep_logs()
        self.corpus = ColumnCorpus(
            folder, {0: "text", 3: "ner"}, train_file="train.txt", dev_file="val.txt",
            test_file="test.txt",
        )  # fmt: skip
        labels = self.corpus.make_label_dictionary("ner", add_unk=False)
        chars = Dictionary()  # with <unk>, as rnnkit's character vocabulary
        for sentence in self.corpus.train:
            for token in sentence:
                for char in token.text:
                    chars.add_item(char)
        words = OneHotEmbeddings.from_corpus(
            self.corpus, embedding_length=WORD_DIM, min_freq=MIN_FREQ
        )
        self.vocab_sizes = {"words": len(words.vocab_dictionary), "chars": len(chars)}
        characters = CharacterEmbeddings(
            path_to_char_dict=chars, char_embedding_dim=CHAR_DIM, hidden_size_char=CHAR_HIDDEN
        )
        self.tagger = SequenceTagger(
            hidden_size=HIDDEN, embeddings=StackedEmbeddings([words, characters]),
            tag_dictionary=labels, tag_type="ner", use_crf=True, rnn_layers=1,
        )  # fmt: skip
        self.train_tokens = sum(len(s) for s in self.corpus.train)
        self.test = list(self.corpus.test)

    def _keep_logs(self) -> None:
        """Flair's console log down to warnings; its lines kept (for its samples/sec figure)."""
        log = logging.getLogger("flair")
        for handler in log.handlers:
            handler.setLevel(logging.WARNING)
        lines = self.log_lines

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                lines.append(record.getMessage())

        log.addHandler(Keep(logging.INFO))
        log.setLevel(logging.INFO)

    def train(self, epochs: int) -> dict[str, Any]:
        from flair.trainers import ModelTrainer
        from flair.trainers.plugins.base import TrainerPlugin

        seconds: list[float] = []
        norms: list[Any] = []

        class Watch(TrainerPlugin):  # type: ignore[misc]
            """Each training epoch's wall time; each step's gradient norm before clipping."""

            started = 0.0

            @TrainerPlugin.hook  # type: ignore[misc]
            def before_training_epoch(self, **kwargs: Any) -> None:
                self.started = time.perf_counter()

            @TrainerPlugin.hook  # type: ignore[misc]
            def after_training_epoch(self, **kwargs: Any) -> None:
                seconds.append(time.perf_counter() - self.started)

            @TrainerPlugin.hook  # type: ignore[misc]
            def metric_recorded(self, record: Any) -> None:
                if tuple(record.name) == ("train", "gradient_norm"):
                    norms.append(record.value)

        started = time.perf_counter()
        result = ModelTrainer(self.tagger, self.corpus).train(
            self.work / "flair", learning_rate=FLAIR_LR, mini_batch_size=BATCH,
            max_epochs=epochs, max_grad_norm=FLAIR_CLIP, plugins=[Watch()],
            save_final_model=False, create_file_logs=False, create_loss_file=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        values = [float(n) for n in norms]
        rates = [line for line in self.log_lines if "samples/sec" in line]
        return {
            "epoch_seconds": seconds,
            "train_seconds": sum(seconds),
            "wall_seconds": wall,
            "steps": len(values),
            "steps_clipped": sum(v > FLAIR_CLIP for v in values),
            "grad_norm_min": min(values),
            "grad_norm_median": statistics.median(values),
            "flair_micro_f1": float(result["test_score"]),
            "flair_log_last_rate": rates[-1] if rates else None,
        }

    def tag(self) -> list[list[str]]:
        """Tag the test split at batch 32; IOB2 tags from the predicted spans."""
        self.tagger.eval()
        self.tagger.predict(self.test, mini_batch_size=BATCH, label_name="predicted")
        out = []
        for sentence in self.test:
            tags = ["O"] * len(sentence)
            for span in sentence.get_spans("predicted"):
                kind = span.get_label("predicted").value
                positions = [token.idx - 1 for token in span.tokens]
                tags[positions[0]] = f"B-{kind}"
                for position in positions[1:]:
                    tags[position] = f"I-{kind}"
            out.append(tags)
        return out

    def parameters(self) -> int:
        return sum(p.numel() for p in self.tagger.parameters())


# ---------------------------------------------------------------------------------------------
# rnnkit


class Watch(Callback):
    """Wall time of each epoch's training batches (from the epoch's start to its last step), and
    whether each step's gradient was clipped (its norm after clipping is the limit)."""

    def __init__(self, clip: float) -> None:
        self.clip = clip
        self.seconds: list[float] = []
        self.norms: list[Any] = []
        self.started = self.last = 0.0

    def on_epoch_start(self, trainer: Any, epoch: int, num_batches: int) -> None:
        self.started = self.last = time.perf_counter()

    def on_batch_end(self, trainer: Any, loss: float) -> None:
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        self.norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))
        self.last = time.perf_counter()

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        self.seconds.append(self.last - self.started)


class RnnkitSide:
    """rnnkit's tag task on the same column files."""

    def __init__(
        self, folder: Path, work: Path, *, seed: int, epochs: int, lr: float, clip: float
    ) -> None:
        from rnnkit.pipelines.runconfig import resolve

        literal = lr == FLAIR_LR
        self.name = "rnnkit-lr0.1" if literal else "rnnkit"
        self.label = f"rnnkit, lr {lr:g}" if literal else "rnnkit"
        self.version = f"rnnkit {rnnkit.__version__}"
        self.recipe = f"SGD lr {lr:g}, clip {clip:g}, loss averaged over the batch's tokens"
        self.work, self.clip = work / self.name, clip
        self.settings = {
            "dataset": f"columns:{folder}", "source_scheme": "iob2", "scheme": "bioes",
            "lowercase": False, "normalise_digits": False, "min_freq": MIN_FREQ,
            "batch_size": BATCH, "word_dim": WORD_DIM, "casing_dim": 0, "char": "lstm",
            "char_dim": CHAR_DIM, "char_hidden": CHAR_HIDDEN, "decoder": "crf",
            "cell": "lstm", "hidden_size": HIDDEN, "num_layers": 1, "bidirectional": True,
            "epochs": epochs, "optimizer": "sgd", "lr": lr, "momentum": 0.0, "clip_norm": clip,
            "schedule": "constant", "seed": seed, "device": "cpu",
        }  # fmt: skip
        self.config = resolve("tag", self.settings)
        self.run: Any = None

    def train(self, epochs: int) -> dict[str, Any]:
        from rnnkit.pipelines.run import backend_summary, train

        watch = Watch(self.clip)
        started = time.perf_counter()
        self.run = train(self.config, self.work, progress=False, callbacks=[watch])
        wall = time.perf_counter() - started
        data = self.run.data()
        self.train_tokens = sum(len(s.tokens) for s in data.train)
        self.test = data.test
        vocabs = self.run.artifacts.vocabs
        self.vocab_sizes = {"words": len(vocabs["tokens"]), "chars": len(vocabs["chars"])}
        values = [float(n) for n in watch.norms]
        return {
            "epoch_seconds": watch.seconds,
            "train_seconds": sum(watch.seconds),
            "wall_seconds": wall,
            "steps": len(values),
            "steps_clipped": sum(v >= 0.999 * self.clip for v in values),
            "backend": backend_summary(self.run.model),
            "val_f1_per_epoch": [h.get("val_f1") for h in self.run.history()],
            "kept_epoch": self.run.kept_epoch(),
            "run_evaluate_f1": float(self.run.evaluate("test").metrics["f1"]),
        }

    def tag(self) -> list[list[str]]:
        """Tag the test split from its words at batch 32, in the files' scheme."""
        from rnnkit.tasks.tag_data import encode_sentence, in_order

        model, vocabs, cfg = self.run.model, self.run.artifacts.vocabs, self.run.config.data
        model.eval()
        encoded = [encode_sentence(s.tokens, vocabs, cfg) for s in self.test]
        out: list[list[str]] = [[] for _ in encoded]
        with torch.no_grad():
            for positions, batch in in_order(encoded, BATCH):
                for position, indices in zip(positions, model.predict(batch), strict=True):
                    out[position] = model.source_tags(indices)
        return out

    def parameters(self) -> int:
        return int(self.run.parameters())


# ---------------------------------------------------------------------------------------------
# report


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def package_version(name: str) -> str | None:
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return importlib.metadata.version(name)
    return None


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def seconds_list(values: Sequence[float], digits: int = 1) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def markdown(report: dict[str, Any]) -> str:
    env, data, rows = report["environment"], report["data"], report["rows"]
    flair = next(row for row in rows if row["system"] == "flair")
    lines = [
        f"# Tagger: rnnkit BiLSTM-CRF vs {flair['version']} SequenceTagger ({report['date']})",
        "",
        f"CoNLL-2003: {100 * report['fraction']:.0f}% of eng.train (seed {report['seed']}: "
        f"{data['train']['sentences']:,} sentences, {data['train']['tokens']:,} tokens), val "
        f"eng.testa ({data['val']['tokens']:,} tokens), test eng.testb "
        f"({data['test']['sentences']:,} sentences, {data['test']['tokens']:,} tokens). "
        f"BiLSTM {HIDDEN} per direction, 1 layer, CRF over BIOES tags, word embedding "
        f"{WORD_DIM} (raw words seen ≥ {MIN_FREQ} times in train), character BiLSTM "
        f"{CHAR_DIM}/{CHAR_HIDDEN}; plain SGD, batch {BATCH}, {report['epochs']} epoch(s), best "
        "validation epoch kept, 1 torch thread. Ratios: rnnkit / Flair, measured in this run.",
        "",
        "| system | version | epochs | train tokens/s | inference tokens/s | test F1 (conlleval) "
        "| ratio rnnkit/Flair (train; inference) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = (
            "–"
            if row is flair
            else f"{row['train_tokens_per_s'] / flair['train_tokens_per_s']:.2f}×; "
            f"{row['inference_tokens_per_s'] / flair['inference_tokens_per_s']:.2f}×"
        )
        lines.append(
            f"| {row['label']} | {row['version']} | {row['epochs']} | "
            f"{row['train_tokens_per_s']:,.0f} | {row['inference_tokens_per_s']:,.0f} | "
            f"{100 * row['test_f1']:.2f} | {ratio} |"
        )
    lines += ["", "Per system:", ""]
    for row in rows:
        own = (
            f"Flair's own micro-F1 on test {100 * row['flair_micro_f1']:.2f}"
            if row is flair
            else f"`run.evaluate('test')` F1 {100 * row['run_evaluate_f1']:.2f} (batch 64); "
            f"validation F1 per epoch {seconds_list([100 * v for v in row['val_f1_per_epoch']], 2)}"
            f", kept epoch {row['kept_epoch']}; the encoder trained on the `{row['backend']}` "
            "backend"
        )
        lines.append(
            f"- **{row['label']}**: {row['recipe']}; gradient clipped at {row['steps_clipped']} of "
            f"{row['steps']} steps; training {row['train_seconds']:.1f} s (per epoch "
            f"{seconds_list(row['epoch_seconds'])}; {row['wall_seconds']:.1f} s with validation "
            f"and set-up); inference rounds {seconds_list(row['inference_seconds'], 2)} s; "
            f"{row['parameters']:,} parameters, vocabularies {row['vocab']['words']:,} words and "
            f"{row['vocab']['chars']:,} characters; {own}."
        )
    lines += [
        f"- Flair's summed gradient norm before clipping: min {flair['grad_norm_min']:.1f}, median "
        f"{flair['grad_norm_median']:.1f}; Flair's own log, last line of training: "
        f"`{flair['flair_log_last_rate']}`.",
        "",
        f"Timing: {report['timing']}. Test F1: each system's batch-32 predictions scored by "
        "rnnkit's conlleval port (`rnnkit.metrics.entities.entity_report`) against the same gold "
        "tags.",
        "",
        f"- CPU: {env['cpu']} ({env['cpu_count']} logical CPUs), torch {env['torch']}, threads "
        f"{env['threads']}, Python {env['python']}; packages "
        + ", ".join(f"{name} {version}" for name, version in env["packages"].items())
        + ".",
        f"- The machine was shared with other trainings: load average {env['load_start']} at "
        f"the start, {env['load_end']} at the end (1, 5, 15 minutes). Training order: "
        f"{' → '.join(report['order'])}; inference rounds alternating.",
        f"- Command: `{report['command']}`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="training epochs of each system")
    parser.add_argument("--fraction", type=float, default=0.25, help="share of eng.train")
    parser.add_argument("--seed", type=int, default=0, help="the train sample and the models")
    parser.add_argument("--data", type=Path, default=default_data(), help="folder of eng.*")
    parser.add_argument("--inference-rounds", type=int, default=3)
    parser.add_argument(
        "--no-literal", action="store_true", help="skip the rnnkit run with lr 0.1, clip 5"
    )
    parser.add_argument(
        "--out",
        default="benchmarks/results/tagger-flair-2026-12-01",
        help="path of the results without suffix: <out>.md and <out>.json are written",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    torch.set_num_threads(1)
    load_start = load()
    with tempfile.TemporaryDirectory(prefix="bench-tagger-") as tmp:
        folder, work = Path(tmp) / "data", Path(tmp) / "runs"
        folder.mkdir()
        data = make_data(args.data, folder, args.fraction, args.seed)
        print(f"data: {data}", flush=True)
        gold = gold_tags(folder, "test")
        options = {"seed": args.seed, "epochs": args.epochs}
        makers: list[Callable[[], Any]] = [
            lambda: RnnkitSide(folder, work, lr=RNNKIT_LR, clip=RNNKIT_CLIP, **options),
            lambda: FlairSide(folder, work, args.seed),
        ]
        if not args.no_literal:
            makers.append(lambda: RnnkitSide(folder, work, lr=FLAIR_LR, clip=FLAIR_CLIP, **options))
        sides, trained = [], {}
        for make in makers:
            side = make()
            trained[side.name] = side.train(args.epochs)
            sides.append(side)
            print(f"{side.name}: {trained[side.name]}", flush=True)
        seconds: dict[str, list[float]] = {side.name: [] for side in sides}
        predicted: dict[str, list[list[str]]] = {}
        for _ in range(args.inference_rounds):
            for side in sides:
                spent, predicted[side.name] = timed(side.tag)
                seconds[side.name].append(spent)
        rows = []
        for side in sorted(sides, key=lambda s: s.name != "flair"):
            info = trained[side.name]
            assert side.train_tokens == data["train"]["tokens"], (side.name, side.train_tokens)
            assert [len(t) for t in predicted[side.name]] == [len(t) for t in gold]
            scores = entity_report(gold, predicted[side.name])
            rows.append(
                {
                    "system": side.name,
                    "label": side.label,
                    "version": side.version,
                    "recipe": side.recipe,
                    "epochs": args.epochs,
                    "train_tokens_per_s": args.epochs * side.train_tokens / info["train_seconds"],
                    "inference_seconds": seconds[side.name],
                    "inference_tokens_per_s": data["test"]["tokens"]
                    / statistics.median(seconds[side.name]),
                    "test_f1": scores.f1,
                    "test_precision": scores.precision,
                    "test_recall": scores.recall,
                    "parameters": side.parameters(),
                    "vocab": side.vocab_sizes,
                    **info,
                }
            )
    by = {row["system"]: row for row in rows}
    import flair

    result = {
        "date": datetime.date.today().isoformat(),
        "epochs": args.epochs,
        "fraction": args.fraction,
        "seed": args.seed,
        "order": [side.name for side in sides],
        "command": "PYTHONPATH=src "
        + " ".join([sys.executable, *sys.argv]).replace(str(Path.cwd()) + "/", ""),
        "timing": "wall time (time.perf_counter) of the training epochs alone, from each "
        "system's epoch-start hook to the end of the epoch's last step (Flair: its "
        "before_training_epoch and after_training_epoch plugin events; rnnkit: its "
        "on_epoch_start and last on_batch_end callbacks), validation excluded; inference: "
        f"tagging the test split from its words at batch {BATCH}, the median of "
        f"{args.inference_rounds} rounds",
        "environment": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "load_start": load_start,
            "load_end": load(),
            "torch": torch.__version__,
            "rnnkit": rnnkit.__version__,
            "flair": flair.__version__,
            "python": platform.python_version(),
            "packages": {name: package_version(name) for name in PACKAGES},
        },
        "data": data,
        "ratio": {
            "train": by["rnnkit"]["train_tokens_per_s"] / by["flair"]["train_tokens_per_s"],
            "inference": by["rnnkit"]["inference_tokens_per_s"]
            / by["flair"]["inference_tokens_per_s"],
            "test_f1_points": 100 * (by["rnnkit"]["test_f1"] - by["flair"]["test_f1"]),
        },
        "rows": rows,
    }
    text = markdown(result)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}.md and {out}.json")


if __name__ == "__main__":
    main()
