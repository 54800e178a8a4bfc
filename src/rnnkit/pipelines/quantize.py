"""int8 inference for trained classifiers: build the int8 model, measure what it costs and gains.

The int8 model is built from the run's float weights whenever it is loaded (dynamic quantisation
is deterministic and takes milliseconds), so a run directory holds one set of weights; ``rnnkit
quantize RUN`` measures accuracy and speed of both and writes ``int8.json`` beside them.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from dataclasses import replace
from typing import Any

import torch

from rnnkit._io import atomic_write_text
from rnnkit.nn.quantized import Int8Recurrent, int8_linear
from rnnkit.pipelines.run import Run
from rnnkit.tasks.classify import TextClassifier, encoded_batches, split_examples
from rnnkit.text import TextBatch

REPORT = "int8.json"


def quantize_classifier(model: TextClassifier) -> TextClassifier:
    """An int8 copy of ``model`` for CPU inference: the recurrent and output layers in int8,
    the embedding (a table lookup) in float."""
    twin = copy.deepcopy(model).cpu().eval()
    twin.recurrent = Int8Recurrent(twin.recurrent)  # type: ignore[assignment]
    twin.output = int8_linear(twin.output)  # type: ignore[assignment]
    return twin


def quantized_run(run: Run) -> Run:
    """``run`` with its model replaced by the int8 model (CPU inference; classification runs)."""
    if not isinstance(run.model, TextClassifier):
        raise ValueError(
            f"int8 inference is for classification runs; {run.path} is a {run.task.name} run"
        )
    return replace(run, model=quantize_classifier(run.model))


def _time_inference(model: TextClassifier, loader: list[TextBatch]) -> float:
    """Seconds for the class scores of every batch."""
    started = time.perf_counter()
    with torch.no_grad():
        for batch in loader:
            model.logits(batch)
    return time.perf_counter() - started


def quantize_run(run: Run, *, split: str = "test", repeats: int = 3) -> dict[str, Any]:
    """Accuracy and inference time of the float and the int8 model of ``run`` on ``split``;
    writes ``int8.json`` into the run directory."""
    if repeats < 1:
        raise ValueError(f"quantize: repeats must be ≥ 1, got {repeats}")
    if not isinstance(run.model, TextClassifier):
        raise ValueError(
            f"quantize is for classification runs; {run.path} is a {run.task.name} run"
        )
    float_model: TextClassifier = run.model.cpu().eval()
    models = {"float32": float_model, "int8": quantize_classifier(float_model)}
    examples = split_examples(run, split)
    loader = encoded_batches(run, examples)
    accuracy = {name: model.report(loader)[1].accuracy for name, model in models.items()}
    seconds: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
        for name, model in models.items():
            seconds[name].append(_time_inference(model, loader))
    median = {name: statistics.median(values) for name, values in seconds.items()}
    result = {
        "split": split,
        "examples": len(examples),
        "accuracy": accuracy,
        "accuracy_change_points": round(100 * (accuracy["int8"] - accuracy["float32"]), 2),
        "seconds": median,
        "speedup": median["float32"] / median["int8"],
        "threads": torch.get_num_threads(),
        "repeats": repeats,
        "engine": torch.backends.quantized.engine,
    }
    atomic_write_text(run.path / REPORT, json.dumps(result, indent=1) + "\n")
    return result
