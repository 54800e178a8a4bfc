"""Several trained classifiers voting together: the mean of their class probabilities.

Members are whole runs, each with its own vocabulary and text settings, so each reads the texts
its own way; they must share the dataset and the labels. Forward- and backward-reading models,
or models from different seeds, make errors that partly cancel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnkit._io import atomic_write_text
from rnnkit.datasets import Example
from rnnkit.metrics import classification_report
from rnnkit.pipelines.classify import SPLITS, ClassifyRun
from rnnkit.pipelines.text_data import iterate_texts, load_dataset
from rnnkit.viz.confusion import plot_confusion


def probabilities(run: ClassifyRun, examples: Sequence[Example]) -> NDArray[np.float64]:
    """Class probabilities (N, C) of ``run`` for ``examples``, in their order."""
    result = np.zeros((len(examples), len(run.labels)))
    texts = [e.text for e in examples]
    for positions, batch in iterate_texts(texts, run.vocab, run.config.data, batch_size=64):
        batch.ids = batch.ids.to(run.model.device)
        result[positions] = run.model.predict_proba(batch).cpu().double().numpy()
    return result


def check_members(runs: Sequence[ClassifyRun], split: str) -> None:
    """Members must share dataset and labels; on val or train, also the same held-out split."""
    if len(runs) < 2:
        raise ValueError(f"ensemble: needs at least 2 runs, got {len(runs)}")
    first = runs[0]
    for run in runs[1:]:
        for what, mine, theirs in (
            ("dataset", run.config.data.dataset, first.config.data.dataset),
            ("strip", run.config.data.strip, first.config.data.strip),
            ("labels", run.labels, first.labels),
        ):
            if mine != theirs:
                raise ValueError(
                    f"ensemble: {run.path} has {what} {mine!r}, but {first.path} has {theirs!r}"
                )
        held_out = (run.config.data.val_fraction, run.config.trainer.seed)
        if split != "test" and held_out != (
            first.config.data.val_fraction,
            first.config.trainer.seed,
        ):
            raise ValueError(
                f"ensemble: {run.path} and {first.path} hold out different validation texts "
                f"(val_fraction, seed); only the test split is common to both"
            )


def evaluate_ensemble(runs: Sequence[ClassifyRun], split: str, out: str | Path) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and confusion matrix of the runs' mean probabilities
    on ``split``; writes ``eval-<split>.json`` and ``confusion-<split>.png`` into ``out``."""
    if split not in SPLITS:
        raise ValueError(f"ensemble: split must be one of {', '.join(SPLITS)}, got {split!r}")
    check_members(runs, split)
    first = runs[0]
    examples = load_dataset(first.config.data, seed=first.config.trainer.seed).split(split)
    mean = sum(probabilities(run, examples) for run in runs) / len(runs)
    index = {label: i for i, label in enumerate(first.labels)}
    truth = np.array([index[e.label] for e in examples])
    report = classification_report(truth, np.asarray(mean).argmax(1), first.labels)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    result = {
        "task": "classify",
        "dataset": first.config.data.dataset,
        "split": split,
        "examples": len(examples),
        "members": [str(run.path) for run in runs],
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "per_class": [vars(s) for s in report.per_class],
        "confusion": report.confusion.tolist(),
        "labels": first.labels,
    }
    atomic_write_text(folder / f"eval-{split}.json", json.dumps(result, indent=1) + "\n")
    plot_confusion(
        report.confusion, first.labels, path=folder / f"confusion-{split}.png",
        title=f"{first.config.data.dataset} {split}, {len(runs)} runs: "
        f"accuracy {100 * report.accuracy:.1f}%",
    )  # fmt: skip
    result["table"] = report.table()
    return result
