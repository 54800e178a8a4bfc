"""Text classification on run directories: train, load, evaluate, predict, compare.

A run directory holds ``config.json`` (the resolved configuration), ``vocab.json``,
``model.safetensors`` (best weights), ``checkpoint.pt`` (to resume), ``metrics.jsonl``,
``learning_curves.png``, ``report.md`` and, once evaluated, ``eval-<split>.json`` and
``confusion-<split>.png``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

import rnnkit
from rnnkit._io import atomic_write_text
from rnnkit.datasets import ClassificationData, Example
from rnnkit.metrics import ClassificationReport
from rnnkit.pipelines.pretrain import FOLDER as PRETRAIN_FOLDER
from rnnkit.pipelines.pretrain import load_pretrained_encoder, pretrain_encoder
from rnnkit.pipelines.quantize import quantize_classifier
from rnnkit.pipelines.runconfig import SECTIONS, ClassifyConfig, resolve
from rnnkit.pipelines.text_data import (
    batches,
    build_vocab,
    encode_split,
    iterate_texts,
    load_dataset,
    special_index,
)
from rnnkit.tasks.classify import TextBatch, TextClassifier
from rnnkit.tasks.encoder_lm import check_encoder
from rnnkit.text import Vocab
from rnnkit.training import Trainer, load_weights, seed_everything
from rnnkit.training.checkpoint import CHECKPOINT, WEIGHTS
from rnnkit.viz import plot_learning_curves
from rnnkit.viz.confusion import plot_confusion

SPLITS = ("train", "val", "test")
RUN_FILES = ("config.json", "vocab.json", WEIGHTS)


class ClassifyRun:
    """A trained classifier and everything needed to use it, loaded from its run directory."""

    def __init__(
        self,
        path: Path,
        config: ClassifyConfig,
        labels: list[str],
        vocab: Vocab,
        model: TextClassifier,
    ) -> None:
        self.path, self.config, self.labels, self.vocab, self.model = (
            path,
            config,
            labels,
            vocab,
            model,
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu", int8: bool = False) -> ClassifyRun:
        """Load the run in ``path``; one clear error if it is not a finished run directory.

        ``int8``: the int8 model for CPU inference (:func:`rnnkit.pipelines.quantize.
        quantize_classifier`), built from the float weights."""
        folder = Path(path)
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a run directory (it does not exist)")
        missing = [name for name in RUN_FILES if not (folder / name).is_file()]
        if missing:
            raise ValueError(
                f"{folder} is not an rnnkit run directory: {', '.join(missing)} missing"
            )
        saved = _read_json(folder / "config.json")
        if saved.get("task") != "classify":
            raise ValueError(
                f"{folder}/config.json is not a classification run (task={saved.get('task')!r})"
            )
        config = _saved_config(folder, saved)
        vocab = Vocab.load(folder / "vocab.json")
        model = _new_model(config, vocab, saved["labels"])
        load_weights(model, folder / WEIGHTS)
        if int8:
            if device != "cpu":
                raise ValueError(f"int8 inference runs on the CPU, got device {device!r}")
            model = quantize_classifier(model)
        model.to(device).eval()
        return cls(folder, config, list(saved["labels"]), vocab, model)

    def predict(self, texts: Sequence[str], *, batch_size: int = 64) -> list[dict[str, Any]]:
        """For each text: ``label``, its ``probability``, and every class's probability."""
        if not texts:
            raise ValueError("predict: no texts given")
        for position, text in enumerate(texts):
            if not text.strip():
                raise ValueError(f"predict: text {position + 1} is empty")
        results = []
        for text, row in zip(texts, self.probabilities(texts, batch_size=batch_size).tolist(),
                             strict=True):  # fmt: skip
            best = max(range(len(row)), key=row.__getitem__)
            results.append(
                {
                    "text": text,
                    "label": self.labels[best],
                    "probability": row[best],
                    "probabilities": dict(zip(self.labels, row, strict=True)),
                }
            )
        return results

    def probabilities(self, texts: Sequence[str], *, batch_size: int = 64) -> NDArray[np.float64]:
        """Class probabilities (N, C) of ``texts``, in their order."""
        result = np.zeros((len(texts), len(self.labels)))
        for positions, batch in iterate_texts(
            texts, self.vocab, self.config.data, batch_size=batch_size
        ):
            probs = self.model.predict_proba(replace(batch, ids=batch.ids.to(self.model.device)))
            result[positions] = probs.cpu().double().numpy()
        return result

    def examples(self, split: str, *, data: ClassificationData | None = None) -> list[Example]:
        """The labelled texts of ``split`` of the run's dataset; one clear error for an unknown
        split or a label the model never saw."""
        if split not in SPLITS:
            raise ValueError(f"evaluate: split must be one of {', '.join(SPLITS)}, got {split!r}")
        data = data or load_dataset(self.config.data, seed=self.config.trainer.seed)
        examples = data.split(split)
        unseen = sorted({e.label for e in examples} - set(self.labels))
        if unseen:
            raise ValueError(
                f"evaluate: the {split} split has labels the model never saw: {', '.join(unseen)}"
            )
        return examples

    def encoded_batches(self, examples: Sequence[Example]) -> list[TextBatch]:
        """``examples`` encoded as the run reads them, in length-bucketed batches of 64."""
        encoded = encode_split(examples, self.vocab, self.labels, self.config.data)
        pad = special_index(self.vocab, "pad")
        return list(batches(encoded, batch_size=64, shuffle=False, seed=0, pad_index=pad))

    def evaluate(
        self, split: str = "test", *, data: ClassificationData | None = None
    ) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class scores and the confusion matrix on ``split``; writes
        ``eval-<split>.json``, ``confusion-<split>.png`` and updates ``report.md``."""
        examples = self.examples(split, data=data)
        loss, report = self.model.report(self.encoded_batches(examples))
        result = write_evaluation(
            self.path, report, dataset=self.config.data.dataset, split=split,
            examples=len(examples), extra={"loss": loss},
        )  # fmt: skip
        write_report(self.path)
        return result

    def train_seconds(self) -> float:
        """Wall time of all epochs, language-model pretraining included, from the metrics."""
        epochs = read_metrics(self.path) + read_metrics(self.path / PRETRAIN_FOLDER)
        return sum(entry.get("seconds", 0.0) for entry in epochs)


def train(
    config: ClassifyConfig, out: str | Path, *, resume: bool = False, progress: bool = True
) -> ClassifyRun:
    """Train a classifier into run directory ``out`` (or continue one with ``resume``)."""
    folder = Path(out)
    started = [folder / CHECKPOINT, folder / PRETRAIN_FOLDER / CHECKPOINT]
    if resume:
        if not any(path.is_file() for path in started):
            raise ValueError(f"--resume: {folder} holds no checkpoint.pt to resume from")
        saved = _read_json(folder / "config.json")
        config = _saved_config(folder, saved)
    elif any(path.exists() for path in started) or (folder / WEIGHTS).exists():
        raise ValueError(
            f"{folder} already holds a run; use --resume to continue it or another --out"
        )
    config = replace(config, trainer=replace(config.trainer, progress=progress))
    seed_everything(config.trainer.seed)
    data = load_dataset(config.data, seed=config.trainer.seed)
    lm_from = config.pretrain.lm_from
    if resume:
        vocab = Vocab.load(folder / "vocab.json")
    elif lm_from is not None:  # the pretrained embedding's rows are that run's vocabulary
        vocab = Vocab.load(Path(lm_from) / "vocab.json")
    else:
        vocab = build_vocab(data.train, config.data)
    model = _new_model(config, vocab, data.labels)
    if config.pretrain.lm_epochs:
        check_encoder(model.recurrent)  # before anything is written
    if lm_from is not None and not (folder / CHECKPOINT).is_file():
        load_pretrained_encoder(model, lm_from)  # before anything is written: it may not fit
    folder.mkdir(parents=True, exist_ok=True)
    if not resume:
        vocab.save(folder / "vocab.json")
        atomic_write_text(
            folder / "config.json",
            json.dumps({**config.to_dict(), "labels": data.labels}, indent=1) + "\n",
        )
    pad = special_index(vocab, "pad")
    seed = config.trainer.seed
    train_split = encode_split(data.train, vocab, data.labels, config.data)
    val_split = encode_split(data.val, vocab, data.labels, config.data)
    if config.pretrain.lm_epochs and not (folder / CHECKPOINT).is_file():
        pretrain_encoder(
            model, train_split, val_split, config.pretrain, config.trainer, run_dir=folder,
            pad_index=pad,
        )  # fmt: skip
    train_batches = batches(
        train_split, batch_size=config.data.batch_size, shuffle=True, seed=seed, pad_index=pad
    )
    val_batches = (  # no validation split (val_fraction 0): the last epoch is the model
        batches(val_split, batch_size=64, shuffle=False, seed=seed, pad_index=pad)
        if val_split.ids
        else None
    )
    trainer = Trainer(model, config.trainer, run_dir=folder)
    trainer.fit(train_batches, val_batches, resume=(folder / CHECKPOINT).is_file())
    if trainer.world.is_main:
        plot_history(folder)
        write_report(folder)
    return ClassifyRun(folder, config, list(data.labels), vocab, model.eval())


def write_evaluation(
    folder: Path,
    report: ClassificationReport,
    *,
    dataset: str,
    split: str,
    examples: int,
    extra: dict[str, Any],
    title: str = "",
) -> dict[str, Any]:
    """Write ``eval-<split>.json`` and ``confusion-<split>.png`` of ``report`` into ``folder``;
    return the result, with the per-class text table under ``table``. ``extra`` goes into the
    result beside the scores; ``title`` is added to the plot's title."""
    result = {
        "task": "classify",
        "dataset": dataset,
        "split": split,
        "examples": examples,
        **extra,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "per_class": [vars(s) for s in report.per_class],
        "confusion": report.confusion.tolist(),
        "labels": list(report.labels),
    }
    atomic_write_text(folder / f"eval-{split}.json", json.dumps(result, indent=1) + "\n")
    plot_confusion(
        report.confusion, report.labels, path=folder / f"confusion-{split}.png",
        title=f"{dataset} {split}{title}: accuracy {100 * report.accuracy:.1f}%",
    )  # fmt: skip
    result["table"] = report.table()
    return result


def compare(
    config: ClassifyConfig, cells: Sequence[str], out: str | Path, *, progress: bool = True
) -> list[dict[str, Any]]:
    """Train one run per cell on the same data and budget into ``out/<cell>``, evaluate each on
    val and test, and save ``out/compare.json`` and ``out/compare.png``."""
    if not cells:
        raise ValueError("compare: no cells given")
    folder = Path(out)
    data = load_dataset(config.data, seed=config.trainer.seed)
    rows = []
    for cell in cells:
        cell_config = replace(config, model=replace(config.model, cell=cell))
        run_dir = folder / cell
        resume = (run_dir / CHECKPOINT).is_file()
        if resume and (run_dir / "config.json").is_file():
            saved = _read_json(run_dir / "config.json")
            if saved.get("model", {}).get("cell") != cell:
                raise ValueError(f"compare: {run_dir} holds a run of another cell")
        started = time.perf_counter()
        run = train(cell_config, run_dir, resume=resume, progress=progress)
        seconds = time.perf_counter() - started
        val, test = run.evaluate("val", data=data), run.evaluate("test", data=data)
        rows.append(
            {
                "cell": cell,
                "parameters": sum(p.numel() for p in run.model.parameters()),
                "val_accuracy": val["accuracy"],
                "test_accuracy": test["accuracy"],
                "test_macro_f1": test["macro_f1"],
                "train_seconds": run.train_seconds(),
                "wall_seconds": seconds,
                "backend": run.model.recurrent.backend_used,
            }
        )
    curves = {}
    for row in rows:
        history = read_metrics(folder / row["cell"])
        curves[row["cell"]] = (
            [h["epoch"] for h in history],
            [100 * h["val_accuracy"] for h in history],
        )
    plot_learning_curves(
        curves, path=folder / "compare.png", ylabel="validation accuracy (%)",
        title=f"{config.data.dataset}: {', '.join(cells)}", log_y=False, xlabel="epoch",
    )  # fmt: skip
    atomic_write_text(folder / "compare.json", json.dumps(rows, indent=1) + "\n")
    return rows


def record_quality(
    result: dict[str, Any],
    run: ClassifyRun | Sequence[ClassifyRun],
    *,
    command: str,
    path: str | Path,
    notes: str = "",
) -> list[dict[str, Any]]:
    """Append ``accuracy`` and ``macro_f1`` of an evaluation of one run (or of an ensemble of
    runs, whose training times add up) to ``quality.jsonl`` (DESIGN.md)."""
    runs = [run] if isinstance(run, ClassifyRun) else list(run)
    lines = []
    for metric in ("accuracy", "macro_f1"):
        lines.append(
            {
                "task": "classify",
                "dataset": runs[0].config.data.dataset,
                "split": result["split"],
                "metric": metric,
                "value": round(100 * result[metric], 2),
                "command": command,
                "device": device_name(),
                "train_seconds": round(sum(r.train_seconds() for r in runs), 1),
                "date": dt.date.today().isoformat(),
                "version": f"rnnkit {rnnkit.__version__} / torch {torch.__version__}",
                "notes": notes,
            }
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as log:
        for line in lines:
            log.write(json.dumps(line) + "\n")
    return lines


def device_name() -> str:
    """``NVIDIA <name>`` on a GPU, else ``cpu N-core``."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"cpu {os.cpu_count()}-core ({platform.machine()})"


def read_metrics(folder: Path) -> list[dict[str, float]]:
    """The per-epoch lines of ``metrics.jsonl`` (empty if none)."""
    path = folder / "metrics.jsonl"
    if not path.is_file():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def plot_history(folder: Path) -> Path | None:
    """``learning_curves.png``: training loss and validation accuracy per epoch."""
    history = read_metrics(folder)
    if not history:
        return None
    epochs = [h["epoch"] for h in history]
    curves = {"train loss": (epochs, [h["train_loss"] for h in history])}
    if "val_loss" in history[0]:
        curves["val loss"] = (epochs, [h["val_loss"] for h in history])
    return plot_learning_curves(
        curves, path=folder / "learning_curves.png", ylabel="cross-entropy (nats)",
        title=f"{folder.name}: loss per epoch", log_y=False, xlabel="epoch",
    )  # fmt: skip


def write_report(folder: Path) -> Path:
    """``report.md``: the configuration, the per-epoch table and every evaluation so far."""
    saved = _read_json(folder / "config.json")
    history = read_metrics(folder)
    lines = [
        f"# Run `{folder.name}`",
        "",
        f"rnnkit {rnnkit.__version__}, torch {torch.__version__}, {device_name()}.",
        "",
    ]
    lines += [
        "## Configuration",
        "",
        "```json",
        json.dumps({k: saved[k] for k in SECTIONS if k in saved}, indent=1),
        "```",
        "",
    ]
    if history:
        lines += [
            "## Training",
            "",
            "| epoch | train loss | val loss | val accuracy | val macro-F1 | seconds |",
        ]
        lines.append("|---|---|---|---|---|---|")
        for h in history:
            val = [h.get(k, float("nan")) for k in ("val_loss", "val_accuracy", "val_macro_f1")]
            lines.append(
                f"| {h['epoch']} | {h['train_loss']:.4f} | {val[0]:.4f} | {100 * val[1]:.2f} | "
                f"{100 * val[2]:.2f} | {h['seconds']:.0f} |"
            )
        total = sum(h["seconds"] for h in history)
        lines += [
            "",
            f"Total training time: {total:.0f} s.",
            "",
            "![learning curves](learning_curves.png)",
            "",
        ]
    for split in SPLITS:
        path = folder / f"eval-{split}.json"
        if not path.is_file():
            continue
        r = _read_json(path)
        lines += [f"## Evaluation on {split} ({r['examples']} examples)", ""]
        lines.append(
            f"Accuracy {100 * r['accuracy']:.2f}%, macro-F1 {100 * r['macro_f1']:.2f}%, "
            f"loss {r['loss']:.4f}."
        )
        lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for c in r["per_class"]:
            lines.append(
                f"| {c['label']} | {100 * c['precision']:.1f} | {100 * c['recall']:.1f} | "
                f"{100 * c['f1']:.1f} | {c['support']} |"
            )
        lines += ["", f"![confusion matrix](confusion-{split}.png)", ""]
    return atomic_write_text(folder / "report.md", "\n".join(lines))


def _new_model(config: ClassifyConfig, vocab: Vocab, labels: Sequence[str]) -> TextClassifier:
    torch.manual_seed(config.trainer.seed)
    return TextClassifier(
        config.model, vocab_size=len(vocab), labels=labels, pad_index=special_index(vocab, "pad")
    )


def _saved_config(folder: Path, saved: dict[str, Any]) -> ClassifyConfig:
    """The configuration a run directory's ``config.json`` (already read as ``saved``) holds."""
    sections = {k: v for k, v in saved.items() if k in SECTIONS}
    return resolve(sections, where=str(folder / "config.json"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return loaded
