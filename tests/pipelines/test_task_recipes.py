"""A task's own trainer recipe (``Task.trainer_defaults``): the defaults of its run config, shown
by ``--help``, overridden by a config file or a flag, and nobody else's."""

from __future__ import annotations

import dataclasses
import re

import pytest

from rnnkit.cli.main import main
from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.base import available_tasks, get_task
from rnnkit.training import TrainerConfig


@pytest.mark.parametrize("task", [t.name for t in available_tasks()])
def test_each_task_starts_from_its_own_recipe(task: str) -> None:
    spec = get_task(task)
    trainer = resolve(task).trainer
    expected = TrainerConfig(**spec.trainer_defaults)
    for field in dataclasses.fields(TrainerConfig):
        if field.name != "monitor":  # "auto" becomes the task's own metric
            assert getattr(trainer, field.name) == getattr(expected, field.name), field.name


def test_classify_has_a_recipe_and_a_layer_overrides_it() -> None:
    recipe = get_task("classify").trainer_defaults
    assert recipe, "classify keeps a measured recipe (README: the default recipe)"
    name, value = next(iter(recipe.items()))
    assert getattr(resolve("classify").trainer, name) == value
    other = getattr(TrainerConfig(), name)
    assert getattr(resolve("classify", {"trainer": {name: other}}).trainer, name) == other
    assert getattr(resolve("tag").trainer, name) == getattr(
        TrainerConfig(**get_task("tag").trainer_defaults), name
    )


def test_help_shows_the_task_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "classify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name, value in get_task("classify").trainer_defaults.items():
        flag = re.escape("--trainer." + name.replace("_", "-"))
        shown = re.search(flag + r" [A-Z]+, --\S+ [A-Z]+ .*?\(default: ([^)]*)\)", out)
        assert shown is not None and shown.group(1) == str(value), name
