"""The contracts every task keeps, so that one :class:`~rnnkit.training.Trainer` and one generic
run (:mod:`rnnkit.pipelines.run`) serve them all.

A **task model** is an ``nn.Module`` that knows its own batches:

- ``forward_loss(batch)``: the training loss of a batch, either a scalar mean or a pair
  ``(loss_sum, count)`` (a token-level loss summed over the batch's tokens and their number), so
  that the Trainer weights every token alike across batches of different sizes;
- ``evaluate(batches) -> dict[str, float]``: cheap metrics over validation batches, ``loss``
  among them, named as DESIGN.md names them (``accuracy``, ``macro_f1``, ``f1``, …); the
  Trainer calls it after every epoch;
- ``predict(batch)``: predictions for a batch, without gradients.

``forward(batch)`` is ``forward_loss(batch)``, so that ``DistributedDataParallel(model)(batch)``
synchronises gradients as it should. A batch is any object with a ``to(device)`` method, or a
tensor, or a dataclass/tuple/list/dict of them (see :func:`move_to`).

A **task** (:class:`Task`) is declared once and registered by name (:func:`register`,
:func:`get_task`): its config sections, how it reads its data and learns its vocabularies, how it
builds its model, its batches, its monitored metric and the way it improves, its full evaluation
(a :class:`Result`) and how it predicts on raw input and prints a prediction. Nothing above
``tasks/`` branches on a task's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rnnkit.baselines.result import BaselineResult
from rnnkit.datasets.folds import fold_parts, kfold
from rnnkit.text import Vocab

__all__ = [
    "Artifacts",
    "Result",
    "Stage",
    "Task",
    "TaskModel",
    "available_tasks",
    "get_task",
    "held_split",
    "move_to",
    "register",
    "with_folds",
]

Loss = Tensor | tuple[Tensor, Tensor | int]  # a mean, or (sum, count)
SPLITS = ("train", "val", "test")


class TaskModel(nn.Module):
    """Base class of task models; subclasses implement the three methods below."""

    def forward_loss(self, batch: Any) -> Loss:
        """Training loss of ``batch``: a scalar mean, or ``(sum, count)``."""
        raise NotImplementedError

    def predict(self, batch: Any) -> Any:
        """Predictions for ``batch`` (no gradients)."""
        raise NotImplementedError

    def evaluate(self, batches: Iterable[Any]) -> dict[str, float]:
        """Metrics over ``batches``, including ``loss``."""
        raise NotImplementedError

    def forward(self, batch: Any) -> Loss:
        return self.forward_loss(batch)

    def start_epoch(self, *, train: bool) -> None:
        """Called before each pass over training (``train``) or validation batches: a model that
        carries state across batches (truncated BPTT) resets it here."""

    def end_step(self) -> None:
        """Called after each optimizer step: a stateful model detaches its carried state."""

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device


def held_split(data: Any, split: str, name: str) -> list[Any]:
    """The items of ``split`` of ``data`` (a SplitData), or one error naming the splits the
    dataset ``name`` does hold."""
    items: list[Any] = data.split(split)
    if not items:
        held = [s for s in ("val", "test") if data.split(s)]
        raise ValueError(
            f"{name} has no {split} split; evaluate --split {' or '.join(held) or 'train'}"
        )
    return items


def move_to(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor in it on ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if is_dataclass(batch) and not isinstance(batch, type):
        changes = {f.name: move_to(getattr(batch, f.name), device) for f in fields(batch) if f.init}
        return replace(batch, **changes)
    if isinstance(batch, tuple | list):
        return type(batch)(move_to(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: move_to(value, device) for key, value in batch.items()}
    return batch


def with_folds(data: Any, folds: Sequence[Sequence[int]]) -> list[Any]:
    """One copy of ``data`` per fold (indices into its training items): the fold's items as the
    validation split, the other training items (in their order) as the training split, the test
    split untouched. ``data`` is a :class:`~rnnkit.datasets.base.SplitData` (a container that
    names the file each split came from names the training file for both) or a mapping from
    split to items or to a tuple of arrays (rows taken from each)."""
    copies = []
    for fold in folds:
        if isinstance(data, Mapping):
            train, val = _take_rows(data["train"], fold)
            copies.append({**data, "train": train, "val": val})
            continue
        train_items, val_items = fold_parts(data.split("train"), fold)
        changes: dict[str, Any] = {"train": train_items, "val": val_items}
        files = getattr(data, "files", None)
        if isinstance(files, dict) and "train" in files:
            changes["files"] = {**files, "val": files["train"]}
        copies.append(replace(data, **changes))
    return copies


def _take_rows(columns: Any, fold: Sequence[int]) -> tuple[Any, Any]:
    """(rows outside ``fold``, rows in it) of a list, or of each array of a tuple of arrays."""
    if not isinstance(columns, tuple):
        return fold_parts(columns, fold)
    held = set(fold)
    n = len(columns[0])
    rest = [i for i in range(n) if i not in held]
    chosen = sorted(held)

    def take(column: Any, rows: list[int]) -> Any:
        if isinstance(column, Tensor):
            return column[torch.tensor(rows, dtype=torch.long)]
        return [column[i] for i in rows]

    return (
        tuple(take(c, rest) for c in columns),
        tuple(take(c, chosen) for c in columns),
    )


@dataclass(frozen=True)
class Result:
    """A full evaluation of a run on one split, as every task reports it.

    Args:
        task: the task's name.
        dataset: the dataset's name.
        split: ``train``, ``val`` or ``test`` (or ``file`` for a file given by path).
        main: the name of the headline metric (``accuracy``, ``f1``, …), a key of ``metrics``.
        metrics: every scalar figure, fractions in [0, 1] where they are rates (``loss`` in
            nats); what the quality record and ``compare`` read.
        examples: how many examples (texts, sentences) were scored.
        table: a plain-text table for the terminal and ``report.md`` (per class, per type).
        details: JSON-ready extras (confusion matrix, per-class rows), written to
            ``eval-<split>.json``.
    """

    task: str
    dataset: str
    split: str
    main: str
    metrics: dict[str, float]
    examples: int
    table: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.main not in self.metrics:
            raise ValueError(f"Result: main metric {self.main!r} is not among {list(self.metrics)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the metrics at the top level, beside the details."""
        return {
            "task": self.task,
            "dataset": self.dataset,
            "split": self.split,
            "main": self.main,
            "examples": self.examples,
            **self.metrics,
            **self.details,
        }


@dataclass
class Artifacts:
    """What a run learns from its training data besides weights, saved in its run directory:
    vocabularies by name (``tokens`` → ``vocab.json``, any other → ``vocab-<name>.json``) and the
    output labels (class or tag names, in ``config.json``)."""

    vocabs: dict[str, Vocab]
    labels: list[str]

    MAIN: ClassVar[str] = "tokens"

    @staticmethod
    def file_name(name: str) -> str:
        return "vocab.json" if name == Artifacts.MAIN else f"vocab-{name}.json"

    def save(self, folder: Path) -> list[Path]:
        return [vocab.save(folder / self.file_name(name)) for name, vocab in self.vocabs.items()]

    @classmethod
    def load(cls, folder: Path, names: Sequence[str], labels: Sequence[str]) -> Artifacts:
        """The vocabularies saved in ``folder``: ``names`` must be there; any other
        ``vocab-<name>.json`` (a tagger's feature columns, say) is loaded too."""
        found = [p.name[6:-5] for p in sorted(folder.glob("vocab-*.json"))]  # vocab-<name>.json
        vocabs = {}
        for name in [*names, *(n for n in found if n not in names)]:
            path = folder / cls.file_name(name)
            if not path.is_file():
                raise ValueError(f"{path} is missing: the run directory is incomplete")
            vocabs[name] = Vocab.load(path)
        return cls(vocabs, list(labels))


@dataclass
class Stage:
    """A model trained before the task's own, in a sub-folder of the run (e.g. the encoder
    pretrained as a language model); the generic run trains it with the run's trainer settings
    and ``trainer`` overrides, resumably, and skips it once finished."""

    folder: str  # inside the run directory
    model: TaskModel
    trainer: dict[str, Any]  # overrides of the run's trainer section (epochs, lr, monitor, …)
    train_batches: Iterable[Any]
    val_batches: Iterable[Any] | None


class Task:
    """One job rnnkit trains models for; subclasses fill in every method.

    Class attributes:
        name: the registry name (``rnnkit train <name>``).
        summary: one line for ``--help``.
        sections: the task's config sections by name (``data``, ``model``, …), each a config
            dataclass, addressed by dotted keys; the generic run adds ``trainer``.
        default_monitor: the validation metric that picks the kept epoch unless the trainer
            section names another.
        record_metrics: the metrics of a :class:`Result` that go to the quality record.
        vocab_names: the vocabularies :meth:`build_artifacts` learns (saved by name).
        input_help: what ``rnnkit predict RUN INPUT…`` takes, for its ``--help``.
        example_unit: what :attr:`Result.examples` counts, for reports (``sentences``, ``tokens``).
        baselines: the baselines (:meth:`train_baseline`) a run of this task may be reported
            beside, by name.
        trainer_defaults: the task's own recipe: trainer settings by name that replace
            :class:`~rnnkit.training.TrainerConfig`'s defaults for this task (shown so in
            ``--help``; a config file or flag still overrides them).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    sections: ClassVar[dict[str, type]]
    default_monitor: ClassVar[str]
    record_metrics: ClassVar[tuple[str, ...]]
    vocab_names: ClassVar[tuple[str, ...]] = (Artifacts.MAIN,)
    input_help: ClassVar[str] = "texts"
    example_unit: ClassVar[str] = "examples"  # what Result.examples counts (sentences, tokens)
    baselines: ClassVar[tuple[str, ...]] = ()  # what run.baseline may name (classify: tfidf)
    trainer_defaults: ClassVar[Mapping[str, Any]] = {}  # e.g. classify: epochs, patience

    # -- config ------------------------------------------------------------------------------

    def dataset_name(self, config: Any) -> str:
        """The dataset a config names (for reports and records)."""
        return str(config.data.dataset)

    def check(self, config: Any) -> None:
        """Refuse a combination of settings that cannot train (before anything is written)."""

    # -- data and model ----------------------------------------------------------------------

    def load_data(self, config: Any) -> Any:
        """The dataset the config names, split into train / val / test."""
        raise NotImplementedError

    def build_artifacts(self, config: Any, data: Any) -> Artifacts:
        """Vocabularies and labels learned from ``data``'s training split."""
        raise NotImplementedError

    def build_model(self, config: Any, artifacts: Artifacts) -> TaskModel:
        """A fresh model of the config's shape for these vocabularies."""
        raise NotImplementedError

    def batches(
        self, config: Any, artifacts: Artifacts, data: Any, split: str, *, train: bool
    ) -> Iterable[Any] | None:
        """The split's batches (shuffled by epoch when ``train``); None if the split is empty."""
        raise NotImplementedError

    def stages(self, run: Any, data: Any, *, resume: bool) -> list[Stage]:
        """What to train before the task's own model (none by default); may also initialise the
        model from elsewhere (another run's pretrained encoder)."""
        return []

    # -- evaluation and prediction -----------------------------------------------------------

    def evaluate(self, run: Any, data: Any, split: str) -> Result:
        """The full evaluation of ``run``'s model on ``split`` of ``data``."""
        raise NotImplementedError

    def plot_evaluation(self, result: Result, folder: Path) -> list[Path]:
        """Pictures of an evaluation (a confusion matrix, …), written into ``folder``."""
        return []

    def predict(self, run: Any, inputs: Sequence[str]) -> list[dict[str, Any]]:
        """One JSON-ready prediction per raw input (a text, a sentence)."""
        raise NotImplementedError

    def format_prediction(self, prediction: Mapping[str, Any]) -> str:
        """One prediction as a line for the terminal."""
        return str(dict(prediction))

    # -- what the report says about the data, and a baseline beside the run -------------------

    def split_sizes(self, data: Any) -> dict[str, int]:
        """How many :attr:`example_unit` each split of ``data`` holds. The default reads a
        :class:`~rnnkit.datasets.base.SplitData` (a token stream counts its tokens) or a
        mapping from split to items, or to a tuple (inputs, targets)."""
        split = getattr(data, "split", None)
        if callable(split):
            return {name: len(split(name)) for name in SPLITS}
        if isinstance(data, Mapping):
            sizes = {}
            for name in SPLITS:
                items = data.get(name, ())
                sizes[name] = len(items[0] if isinstance(items, tuple) and items else items)
            return sizes
        return {}

    def split_tokens(self, config: Any, data: Any, split: str) -> Iterable[str] | None:
        """The tokens of ``split`` as the main vocabulary looks them up, for the share the
        report gives of them that the vocabulary knows; None where the task has no such
        tokens. The default reads a token stream (a split that is a list of strings) and
        items that hold their ``tokens``; a task whose vocabulary sees other forms (lower-cased
        words, a tokenised text) says so here."""
        items: Sequence[Any] = data.split(split) if callable(getattr(data, "split", None)) else ()
        if not items:
            return None
        if isinstance(items[0], str):
            return [str(item) for item in items]
        if hasattr(items[0], "tokens"):
            return (token for item in items for token in item.tokens)
        return None

    def folds(self, data: Any, k: int, *, seed: int) -> list[Any]:
        """``k`` copies of ``data`` for k-fold cross-validation on its training split: in copy
        ``i`` the validation split is fold ``i`` of the training items and the training split
        the other folds; the test split is left as it is (never trained or scored on).

        The default cuts the folds at random (:func:`rnnkit.datasets.folds.kfold`, seeded with
        ``seed``) over the items of a :class:`~rnnkit.datasets.base.SplitData` (sentences,
        pairs) or the rows of a mapping from split to a tuple of arrays (inputs, targets); a
        task whose items must be cut otherwise (stratified by label, contiguous blocks of a
        token stream) overrides it, building the copies with :func:`with_folds`."""
        items = data.split("train") if callable(getattr(data, "split", None)) else None
        if items is None and isinstance(data, Mapping):
            columns = data["train"]
            n = len(columns[0]) if isinstance(columns, tuple) else len(columns)
        elif items is not None:
            n = len(items)
        else:
            raise ValueError(f"{self.name}: cannot cut {type(data).__name__} into folds")
        return with_folds(data, kfold(n, k, seed=seed))

    def check_baseline(self, name: str) -> None:
        """Refuse baseline ``name`` where it cannot run: not one of :attr:`baselines` (a
        ``ValueError``), or its optional packages are missing (a
        :class:`~rnnkit.baselines.BaselineUnavailableError` saying what to install)."""
        raise ValueError(f"run.baseline: {self.name} has no baseline {name!r}; use auto or none")

    def train_baseline(self, name: str, config: Any, data: Any) -> BaselineResult:
        """Baseline ``name`` (one of :attr:`baselines`) fitted on the training split of
        ``data``, the run's own, and scored on its validation and test splits."""
        raise ValueError(f"{self.name} has no baseline {name!r}")


_REGISTRY: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add ``task`` to the registry under ``task.name`` (once)."""
    if task.name in _REGISTRY:
        raise ValueError(f"task {task.name!r} is registered twice")
    _REGISTRY[task.name] = task
    return task


def get_task(name: object) -> Task:
    """The registered task ``name``; one clear error listing the known ones."""
    _load_builtin_tasks()
    if not isinstance(name, str) or name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown task {name!r}; known tasks: {known}")
    return _REGISTRY[name]


def available_tasks() -> list[Task]:
    """Every registered task, by name."""
    _load_builtin_tasks()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def _load_builtin_tasks() -> None:
    """Import the task modules that register rnnkit's own tasks."""
    import rnnkit.tasks.classify
    import rnnkit.tasks.lm
    import rnnkit.tasks.seq2seq
    import rnnkit.tasks.synthetic
    import rnnkit.tasks.tag  # noqa: F401
