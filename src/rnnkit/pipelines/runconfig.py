"""A run's configuration: the task's sections plus ``trainer``, addressed by dotted keys.

``model.encoder.hidden_size`` is one setting, written ``--model.encoder.hidden-size`` on the
command line, ``hidden_size`` under ``[model.encoder]`` (or under ``[model]``, or at the top,
wherever the short name is unique) in a YAML/TOML file, and nested in ``config.json``.
Precedence: defaults < config file < command-line flags.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any

from rnnkit.config import as_plain, resolve_nested
from rnnkit.tasks.base import Task, get_task
from rnnkit.training import TrainerConfig

__all__ = ["RunOptions", "config_type", "resolve", "task_of", "to_dict"]

# Keys config.json holds beside the sections.
RUN_KEYS = ("task", "labels", "origin")


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """What the generic run does around training, the ``run`` section of every task's config.

    ``baseline``: ``auto`` fits the task's own baseline where its packages are installed
    (classify: ``tfidf``, TF-IDF + LinearSVC with scikit-learn) and skips it silently elsewhere;
    a name asks for it (one clear error if its packages are missing or the task has none);
    ``none`` turns it off. ``keep_checkpoint``: a run that finished (every epoch, or stopped
    early) removes ``checkpoint.pt``; ``model.safetensors`` keeps the kept epoch's weights, and
    ``--resume --epochs N`` trains on from them with a fresh optimizer. A killed run always keeps
    its checkpoint.
    """

    baseline: str = "auto"  # baseline on the run's split, for report.md: auto|none|tfidf (classify)
    keep_checkpoint: bool = False  # keep checkpoint.pt once training finished (default: removed)

    def __post_init__(self) -> None:
        if not self.baseline.strip():
            raise ValueError("run: baseline must be auto, none or a baseline's name, got ''")


@cache
def config_type(task: Task) -> type:
    """The frozen dataclass of ``task``'s run config: its sections, then ``trainer`` (with the
    task's :attr:`~rnnkit.tasks.base.Task.trainer_defaults`) and ``run`` (:class:`RunOptions`)."""
    sections = {**task.sections, "trainer": TrainerConfig, "run": RunOptions}
    factories: dict[str, Callable[[], Any]] = {
        **sections, "trainer": partial(TrainerConfig, **task.trainer_defaults)
    }  # fmt: skip
    fields = [
        (name, kind, dataclasses.field(default_factory=factories[name]))
        for name, kind in sections.items()
    ]
    return dataclasses.make_dataclass(
        f"{task.name.title()}RunConfig", fields, frozen=True, namespace={"task_name": task.name}
    )


def task_of(config: Any) -> Task:
    """The task a run config (made by :func:`resolve`) belongs to."""
    name = getattr(type(config), "task_name", None)
    if name is None:
        raise ValueError(
            f"not a run config (made by rnnkit.pipelines.runconfig.resolve): {config!r:.80}"
        )
    return get_task(name)


def resolve(task: str | Task, *layers: Mapping[str, Any], where: str = "config") -> Any:
    """The run config of ``task`` from ``layers`` (later ones win); a ``task`` key in a layer
    must name the same task; ``trainer.monitor`` ``auto`` becomes the task's own metric."""
    spec = task if isinstance(task, Task) else get_task(task)
    cleaned = []
    for layer in layers:
        named = layer.get("task")
        if named is not None and named != spec.name:
            raise ValueError(f"{where}: task must be {spec.name!r}, got {named!r}")
        cleaned.append({k: v for k, v in layer.items() if k not in RUN_KEYS})
    config: Any = resolve_nested(config_type(spec), *cleaned, where=where)
    if config.trainer.monitor == "auto":
        trainer = dataclasses.replace(config.trainer, monitor=spec.default_monitor)
        config = dataclasses.replace(config, trainer=trainer)
    return config


def to_dict(task: Task, config: Any) -> dict[str, Any]:
    """``config`` as ``config.json`` holds it (without the run's labels)."""
    return {"task": task.name, **as_plain(config)}
