"""A search's config file: the run's settings, as ``rnnkit train`` reads them, and a ``tune``
section naming the settings to search (:class:`~rnnkit.tuning.space.SearchSpace`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rnnkit.config import read_config_file
from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.base import Task, get_task
from rnnkit.tuning.space import SearchSpace

__all__ = ["read_search"]


def read_search(
    task: str | Task, path: str | Path, *layers: Mapping[str, Any]
) -> tuple[Any, SearchSpace]:
    """(run config, search space) of the YAML or TOML file ``path``: its ``tune`` section is the
    space; the rest are the run's settings, under ``layers`` (command-line flags, which win).
    One clear error for a file without a ``tune`` section, or any bad setting."""
    spec = task if isinstance(task, Task) else get_task(task)
    settings = read_config_file(path)
    table = settings.pop("tune", None)
    if table is None:
        raise ValueError(
            f"{path}: no [tune] section naming the settings to search, e.g. [tune] "
            '"model.encoder.hidden_size" = [64, 128] and "model.dropout" = {low = 0.0, high = 0.5}'
        )
    config = resolve(spec, settings, *layers, where=str(path))
    return config, SearchSpace.parse(spec, table, where=str(path))
