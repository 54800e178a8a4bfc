"""A run's configuration: data, model, trainer and pretrain sections, one flat namespace of keys.

Every key is unique across the sections, so a flag ``--hidden-size``, a config-file key
``hidden_size`` (flat, or under ``model:``) and ``config.json``'s ``model.hidden_size`` are the
same setting. Precedence: defaults < config file < command-line flags.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rnnkit.config import as_plain, from_mapping
from rnnkit.pipelines.pretrain import PretrainConfig
from rnnkit.pipelines.text_data import DataConfig
from rnnkit.tasks.classify import ClassifierConfig
from rnnkit.training import TrainerConfig

SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ClassifierConfig,
    "trainer": TrainerConfig,
    "pretrain": PretrainConfig,
}


@dataclass(frozen=True)
class ClassifyConfig:
    """Everything a classification run is made from."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ClassifierConfig = dataclasses.field(default_factory=ClassifierConfig)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    pretrain: PretrainConfig = dataclasses.field(default_factory=PretrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"task": "classify", **as_plain(self)}


def section_of() -> dict[str, str]:
    """Which section each key belongs to."""
    return {f.name: name for name, cls in SECTIONS.items() for f in dataclasses.fields(cls)}


def resolve(*layers: Mapping[str, Any], where: str = "config") -> ClassifyConfig:
    """Merge flat or sectioned mappings, later layers winning; unknown keys are one clear error."""
    owner = section_of()
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for layer in layers:
        for key, value in layer.items():
            if key == "task":
                if value != "classify":
                    raise ValueError(f"{where}: task must be 'classify', got {value!r}")
            elif key in SECTIONS and isinstance(value, Mapping):
                unknown = sorted(set(value) - {k for k, s in owner.items() if s == key})
                if unknown:
                    valid = ", ".join(k for k, s in owner.items() if s == key)
                    raise ValueError(
                        f"{where}: unknown key {key}.{unknown[0]}; valid keys in {key}: {valid}"
                    )
                merged[key].update(value)
            elif key in owner:
                merged[owner[key]][key] = value
            else:
                raise ValueError(f"{where}: unknown key {key!r}; valid keys: {', '.join(owner)}")
    return ClassifyConfig(
        **{
            name: from_mapping(SECTIONS[name], merged[name], where=f"{where}.{name}")
            for name in SECTIONS
        }
    )
