"""The search space of the ``[tune]`` section: every form it takes, and each bad entry as one
clear line (an unknown key lists the valid ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tuning_helpers import SYNTHETIC, write_search

from rnnkit.pipelines.runconfig import resolve
from rnnkit.tasks.base import get_task
from rnnkit.tuning import Choice, Range, SearchSpace, read_search

SYNTH = get_task("synthetic")


def parse(table: dict[str, Any], task: str = "synthetic") -> SearchSpace:
    return SearchSpace.parse(get_task(task), table, where="search.toml")


def one_line(table: Any, task: str = "synthetic") -> str:
    with pytest.raises(ValueError) as caught:
        space = SearchSpace.parse(get_task(task), table, where="search.toml")
        space.check(resolve(task), where="search.toml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("search.toml: ")
    return message


def test_lists_ranges_short_names_and_nested_tables() -> None:
    space = parse(
        {
            "model.encoder.hidden_size": [64, 128],
            "cell": ["rnn", "lstm", "gru"],  # a short name, unique in the config
            "trainer": {"lr": {"low": 1e-4, "high": 1e-2, "log": True}},
            "model.encoder.layer_dropout": {"low": 0.0, "high": 0.5, "step": 0.25},
            "model.encoder.num_layers": {"low": 1, "high": 3},
        }
    )
    dims = space.dimensions
    assert space.names == [
        "model.encoder.hidden_size", "model.encoder.cell", "trainer.lr",
        "model.encoder.layer_dropout", "model.encoder.num_layers",
    ]  # fmt: skip
    assert dims["model.encoder.hidden_size"] == Choice((64, 128))
    assert dims["trainer.lr"] == Range(1e-4, 1e-2, log=True)
    assert dims["model.encoder.layer_dropout"].grid() == [0.0, 0.25, 0.5]
    assert dims["model.encoder.num_layers"].grid() == [1, 2, 3]
    assert not space.discrete  # the log range is continuous


def test_grid_is_every_combination() -> None:
    space = parse({"model.encoder.hidden_size": [2, 4], "model.encoder.cell": ["rnn", "gru"]})
    assert space.grid() == [
        {"model.encoder.hidden_size": 2, "model.encoder.cell": "rnn"},
        {"model.encoder.hidden_size": 2, "model.encoder.cell": "gru"},
        {"model.encoder.hidden_size": 4, "model.encoder.cell": "rnn"},
        {"model.encoder.hidden_size": 4, "model.encoder.cell": "gru"},
    ]


def test_grid_refuses_a_continuous_range() -> None:
    space = parse({"trainer.lr": {"low": 1e-4, "high": 1e-2}})
    with pytest.raises(ValueError, match=r"trainer\.lr is a continuous range"):
        space.grid()


def test_random_draws_stay_in_their_ranges_and_repeat_with_the_seed() -> None:
    space = parse(
        {
            "trainer.lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "model.encoder.hidden_size": {"low": 2, "high": 64, "log": True},
            "model.encoder.layer_dropout": {"low": 0.1, "high": 0.3},
            "model.encoder.cell": ["rnn", "gru"],
        }
    )
    draws = [space.draw(np.random.default_rng([3, i])) for i in range(50)]
    assert draws == [space.draw(np.random.default_rng([3, i])) for i in range(50)]
    for d in draws:
        assert 1e-4 <= d["trainer.lr"] <= 1e-2
        assert 2 <= d["model.encoder.hidden_size"] <= 64
        assert isinstance(d["model.encoder.hidden_size"], int)
        assert 0.1 <= d["model.encoder.layer_dropout"] <= 0.3
    assert {d["model.encoder.cell"] for d in draws} == {"rnn", "gru"}


def test_values_take_the_settings_type() -> None:
    space = parse({"model.encoder.layer_dropout": [0, 0.5], "trainer.clip_norm": [1, "none"]})
    assert space.dimensions["model.encoder.layer_dropout"] == Choice((0.0, 0.5))
    assert space.dimensions["trainer.clip_norm"] == Choice((1.0, None))


def test_apply_builds_the_trial_config() -> None:
    space = parse({"model.encoder.hidden_size": [8, 16]})
    config = space.apply(resolve("synthetic", {"trainer": {"epochs": 3}}), {
        "model.encoder.hidden_size": 16})  # fmt: skip
    assert config.model.encoder.hidden_size == 16 and config.trainer.epochs == 3


def test_an_unknown_key_lists_the_valid_ones() -> None:
    message = one_line({"model.encoder.hiden_size": [8]})
    assert "unknown key 'model.encoder.hiden_size'" in message
    assert "valid keys: data.seq_len, data.train_size" in message
    assert "model.encoder.hidden_size" in message and "trainer.lr" in message
    assert "trainer.monitor" not in message  # not a key a search may vary


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            {"model.encoder.hidden_size": []},
            "[tune] model.encoder.hidden_size: the list of values to choose from is empty",
        ),
        (
            {"trainer.lr": {"low": 0.1, "high": 0.01}},
            "[tune] trainer.lr: low 0.1 is above high 0.01",
        ),
        (
            {"trainer.lr": 0.1},
            "[tune] trainer.lr: expected a list of values to choose from, or a range",
        ),
        (
            {"trainer.lr": {"low": 0.1}},
            "[tune] trainer.lr: a range needs low and high; high missing",
        ),
        ({"trainer.lr": {"low": 0, "high": 1, "log": True}}, "needs low > 0, got 0.0"),
        ({"trainer.lr": {"low": 0.1, "high": 1, "log": True, "step": 0.1}}, "not both"),
        (
            {"trainer.lr": {"lo": 0.1, "high": 1}},
            "a range takes low, high and optionally log = true or step, not lo",
        ),
        ({"model.encoder.cell": {"low": 1, "high": 2}}, "a range is for a number setting"),
        ({"model.encoder.hidden_size": {"low": 2.5, "high": 8}}, "expected an integer, got 2.5"),
        ({"model.encoder.hidden_size": ["big"]}, "expected an integer, got 'big'"),
        ({"model.encoder.hidden_size": [8, 8]}, "the value 8 is listed twice"),
        ({"trainer.monitor": ["loss", "mse"]}, "trainer.monitor cannot be searched"),
        ({}, "[tune] names no settings to search"),
        ({"model.encoder.hidden_size": [0, 8]}, "[tune] model.encoder.hidden_size = 0: "),
        (
            {"model.encoder.cell": ["gru", "transformer"]},
            "[tune] model.encoder.cell = 'transformer': ",
        ),
        ([1, 2], "[tune] must be a table of settings to search"),
    ],
)
def test_bad_entries_are_one_clear_line(table: Any, expected: str) -> None:
    assert expected in one_line(table)


def test_an_ambiguous_short_name_says_which() -> None:
    assert "hidden_size is ambiguous; say which: model.encoder.hidden_size, " in one_line(
        {"hidden_size": [8]}, task="seq2seq"
    )


def test_read_search_splits_the_file(tmp_path: Path) -> None:
    path = write_search(tmp_path, '[tune]\n"model.encoder.hidden_size" = [2, 4]\n')
    config, space = read_search("synthetic", path, {"trainer.epochs": 3})
    assert config.data.seq_len == 5 and config.trainer.epochs == 3  # flags win
    assert space.names == ["model.encoder.hidden_size"]


def test_a_file_without_a_tune_section_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text(SYNTHETIC, encoding="utf-8")
    with pytest.raises(ValueError, match=r"train.toml: no \[tune\] section"):
        read_search("synthetic", path)


def test_yaml_works_too(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text(
        "trainer:\n  epochs: 2\ntune:\n  model.dropout: {low: 0.0, high: 0.5}\n"
        "  model.encoder.cell: [rnn, gru]\n",
        encoding="utf-8",
    )
    _, space = read_search("classify", path)
    assert space.dimensions["model.dropout"] == Range(0.0, 0.5)


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).parents[2] / "benchmarks" / "configs" / "tune").glob("*.toml")),
    ids=lambda p: p.name,
)
def test_the_shipped_searches_read(path: Path) -> None:
    """The README's searches: each file names its task, its space checks against that task."""
    from rnnkit.config import read_config_file

    task = read_config_file(path)["task"]
    config, space = read_search(task, path)
    space.check(config, where=str(path))
    assert space.names
