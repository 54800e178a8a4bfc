"""Several trained classifiers voting together: the mean of their class probabilities.

Members are whole runs, each with its own vocabulary and text settings, so each reads the texts
its own way; they must share the dataset and the labels. Forward- and backward-reading models,
or models from different seeds, make errors that partly cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.metrics import classification_report
from rnnkit.pipelines.run import Run, write_evaluation
from rnnkit.tasks.base import Result
from rnnkit.tasks.classify import classification_result, probabilities, split_examples


def check_members(runs: Sequence[Run], split: str) -> None:
    """Members must be classification runs sharing dataset and labels; on val or train, also
    the same held-out split."""
    if len(runs) < 2:
        raise ValueError(f"ensemble: needs at least 2 runs, got {len(runs)}")
    for run in runs:
        if run.task.name != "classify":
            raise ValueError(
                f"ensemble: {run.path} is a {run.task.name} run; ensembles average "
                "the class probabilities of classification runs"
            )
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
        held_out = (run.config.data.val_fraction, run.config.data.split_seed)
        if split != "test" and held_out != (
            first.config.data.val_fraction,
            first.config.data.split_seed,
        ):
            raise ValueError(
                f"ensemble: {run.path} and {first.path} hold out different validation texts "
                f"(val_fraction, seed); only the test split is common to both"
            )


def evaluate_ensemble(runs: Sequence[Run], split: str, out: str | Path) -> Result:
    """Accuracy, macro-F1, per-class scores and confusion matrix of the runs' mean probabilities
    on ``split``; writes ``eval-<split>.json`` and ``confusion-<split>.png`` into ``out``."""
    check_members(runs, split)
    first = runs[0]
    examples = split_examples(first, split)
    texts = [e.text for e in examples]
    mean = sum(probabilities(run, texts) for run in runs) / len(runs)
    index = {label: i for i, label in enumerate(first.labels)}
    truth = np.array([index[e.label] for e in examples])
    report = classification_report(truth, np.asarray(mean).argmax(1), first.labels)
    folder = Path(out)
    result = classification_result(
        report, dataset=first.config.data.dataset, split=split, examples=len(examples),
        extra={"members": [str(run.path) for run in runs]},
    )  # fmt: skip
    write_evaluation(first.task, result, folder)
    return result
