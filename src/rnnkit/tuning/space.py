"""The search space of a hyperparameter search: the ``tune`` section of a run's config file.

One entry per setting, by its dotted path (``model.encoder.hidden_size``; a short name where it
is unique, as in the rest of the file; or nested tables, ``[tune.model.encoder]``):

- a list: the values to choose from (the grid sampler tries each);
- a table ``{low, high}``, with ``log = true`` for a log scale and ``step`` for a grid of
  values: a range of a number setting (integer settings draw integers).

.. code-block:: toml

    [tune]
    "model.encoder.hidden_size" = [64, 128, 256, 512]
    "model.encoder.cell" = ["rnn", "lstm", "gru"]
    "model.dropout" = {low = 0.0, high = 0.5}
    "trainer.lr" = {low = 1e-4, high = 1e-2, log = true}

Every key is checked against the task's own settings (an unknown one lists the valid ones),
every value against the setting's type, and each choice and range end by building the run's
config with it, before any trial starts: a bad search space is one clear line.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnkit.config import coerce, field_types, setting_paths, short_names
from rnnkit.pipelines.runconfig import config_type, resolve, task_of, to_dict
from rnnkit.tasks.base import Task

if TYPE_CHECKING:
    import optuna

__all__ = ["FIXED", "Choice", "Range", "SearchSpace"]

# Settings a search may not vary, and why.
FIXED = {
    "trainer.monitor": "the monitored metric is what the search optimises",
    "trainer.mode": "the direction of the search follows the monitored metric",
    "trainer.progress": "trials run without progress bars",
}
RANGE_KEYS = ("low", "high", "log", "step")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of a list of values (a categorical parameter)."""

    values: tuple[Any, ...]

    @property
    def discrete(self) -> bool:
        return True

    def grid(self) -> list[Any]:
        return list(self.values)

    def draw(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.values))

    def ends(self) -> list[Any]:
        """The values whose config is built before the search starts (all of them)."""
        return list(self.values)

    def describe(self) -> str:
        return "{" + ", ".join(str(v) for v in self.values) + "}"

    def to_dict(self) -> dict[str, Any]:
        return {"choices": list(self.values)}


@dataclasses.dataclass(frozen=True)
class Range:
    """A number between ``low`` and ``high`` (both included): on a log scale with ``log``, on a
    grid of ``step`` with ``step``; integers where ``integer``."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    integer: bool = False

    @property
    def discrete(self) -> bool:
        return self.integer or self.step is not None

    def grid(self) -> list[Any]:
        """Every value of the range (integers, or ``low`` + multiples of ``step``)."""
        step = self.step if self.step is not None else 1
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        values = [self.low + i * step for i in range(count)]
        if self.integer:
            return [round(v) for v in values]
        return [round(v, 12) for v in values]

    def draw(self, rng: np.random.Generator) -> Any:
        """A value drawn as Optuna's random sampler draws one: uniform (on the log scale with
        ``log``), on the grid of ``step``, rounded to an integer for an integer range."""
        if self.step is not None or (self.integer and not self.log):
            values = self.grid()
            return values[int(rng.integers(len(values)))]
        if self.integer:  # log scale: uniform in log over [low - 0.5, high + 0.5], rounded
            low, high = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return int(min(max(round(math.exp(rng.uniform(low, high))), self.low), self.high))
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = float(rng.uniform(self.low, self.high))
        return min(max(value, self.low), self.high)

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        if self.integer:
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(name, int(self.low), int(self.high), step=step, log=self.log)
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    def ends(self) -> list[Any]:
        return [self.low, self.high]

    def describe(self) -> str:
        scale = ", log" if self.log else (f", step {self.step:g}" if self.step is not None else "")
        return f"[{self.low:g}, {self.high:g}{scale}]"

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "step": self.step}


Dimension = Choice | Range


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The settings a search varies, by dotted path, in the order the file names them."""

    dimensions: Mapping[str, Dimension]

    @classmethod
    def parse(cls, task: Task, table: Any, *, where: str) -> SearchSpace:
        """The search space a ``tune`` table declares for ``task``; one ``ValueError`` line for
        any bad entry, prefixed with ``where`` (the file)."""
        if not isinstance(table, Mapping):
            raise ValueError(
                f"{where}: [tune] must be a table of settings to search, got {table!r:.60}"
            )
        kind = config_type(task)
        paths = setting_paths(kind)
        found: dict[str, Dimension] = {}
        for path, spec in _entries(kind, table, "", where=where):
            if path in FIXED:
                raise ValueError(f"{where}: [tune] {path} cannot be searched: {FIXED[path]}")
            if path in found:
                raise ValueError(f"{where}: [tune] {path} is given twice")
            owner, name = paths[path]
            found[path] = _dimension(path, field_types(owner)[name], spec, where=where)
        if not found:
            raise ValueError(
                f"{where}: [tune] names no settings to search; e.g. "
                '"model.dropout" = {low = 0.0, high = 0.5}'
            )
        return cls(found)

    @property
    def names(self) -> list[str]:
        return list(self.dimensions)

    @property
    def discrete(self) -> bool:
        return all(d.discrete for d in self.dimensions.values())

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the dimensions' values (each must be discrete), the last
        dimension varying fastest."""
        continuous = [n for n, d in self.dimensions.items() if not d.discrete]
        if continuous:
            raise ValueError(
                f"the grid sampler needs a list of values or a range with a step for every "
                f"setting; {', '.join(continuous)} {'is' if len(continuous) == 1 else 'are'} a "
                "continuous range (give it a step, or use --sampler random or tpe)"
            )
        names = self.names
        values = [self.dimensions[n].grid() for n in names]
        return [dict(zip(names, point, strict=True)) for point in itertools.product(*values)]

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """One point drawn at random (each dimension independently)."""
        return {name: d.draw(rng) for name, d in self.dimensions.items()}

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's parameters (its fixed ones where it has them, else the sampler's)."""
        return {name: d.suggest(trial, name) for name, d in self.dimensions.items()}

    def apply(self, base: Any, params: Mapping[str, Any], *, where: str = "tune") -> Any:
        """The run config ``base`` with ``params`` (dotted paths) set."""
        task = task_of(base)
        return resolve(task, to_dict(task, base), dict(params), where=where)

    def check(self, base: Any, *, where: str) -> None:
        """Build ``base`` with each choice and each end of each range, so that a value the
        run's config refuses (a hidden size of 0, a dropout of 1.5) is one line now rather
        than a failed trial later."""
        task = task_of(base)
        for name, dimension in self.dimensions.items():
            for value in dimension.ends():
                try:
                    task.check(self.apply(base, {name: value}, where=f"{where} [tune]"))
                except ValueError as exc:
                    raise ValueError(f"{where}: [tune] {name} = {value!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, as the study stores it (to check a resumed search searches the same)."""
        return {name: d.to_dict() for name, d in self.dimensions.items()}

    def describe(self) -> str:
        return ", ".join(f"{name} {d.describe()}" for name, d in self.dimensions.items())


def _entries(
    kind: type, table: Mapping[str, Any], prefix: str, *, where: str
) -> list[tuple[str, Any]]:
    """(setting path, spec) of each entry of ``table``, whose keys are dotted paths, short
    names, or sections holding either."""
    paths = setting_paths(kind)
    short = short_names(kind)
    sections = {p.rsplit(".", i)[0] for p in paths for i in range(1, p.count(".") + 1)}
    entries: list[tuple[str, Any]] = []
    for key, spec in table.items():
        path = f"{prefix}{key}"
        if path in paths:
            entries.append((path, spec))
        elif not prefix and key in short:
            entries.append((short[key], spec))
        elif path in sections and isinstance(spec, Mapping):
            entries += _entries(kind, spec, f"{path}.", where=where)
        else:
            matches = [p for p in paths if p.rpartition(".")[2] == key]
            if not prefix and len(matches) > 1:
                raise ValueError(
                    f"{where}: [tune] {key} is ambiguous; say which: {', '.join(matches)}"
                )
            valid = ", ".join(p for p in paths if p not in FIXED)
            raise ValueError(f"{where}: [tune] unknown key '{path}'; valid keys: {valid}")
    return entries


def _dimension(path: str, kind: Any, spec: Any, *, where: str) -> Dimension:
    """A list → :class:`Choice`; a table → :class:`Range`; checked against the setting's type."""
    at = f"{where}: [tune] {path}"
    if isinstance(spec, list | tuple):
        return _choice(at, kind, spec)
    if isinstance(spec, Mapping):
        return _range(at, kind, spec)
    raise ValueError(
        f"{at}: expected a list of values to choose from, or a range {{low = …, high = …}}, "
        f"got {spec!r:.60}"
    )


def _choice(at: str, kind: Any, spec: Sequence[Any]) -> Choice:
    if not spec:
        raise ValueError(f"{at}: the list of values to choose from is empty")
    values = []
    for raw in spec:
        if isinstance(raw, list | tuple) and _is_tuple_setting(kind):
            raw = ",".join(str(item) for item in raw)  # a list setting's value, as on the CLI
        if isinstance(raw, Mapping | list | tuple):
            raise ValueError(f"{at}: each choice must be one value, got {raw!r:.60}")
        checked = coerce(raw, kind, where=at)
        values.append(raw if isinstance(checked, tuple) else checked)
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{at}: the value {repeated[0]} is listed twice")
    return Choice(tuple(values))


def _range(at: str, kind: Any, spec: Mapping[str, Any]) -> Range:
    unknown = sorted(set(spec) - set(RANGE_KEYS))
    if unknown:
        raise ValueError(
            f"{at}: a range takes low, high and optionally log = true or step, not "
            f"{', '.join(unknown)}"
        )
    missing = [k for k in ("low", "high") if k not in spec]
    if missing:
        raise ValueError(f"{at}: a range needs low and high; {' and '.join(missing)} missing")
    number = _number_kind(kind)
    if number is None:
        raise ValueError(f"{at}: a range is for a number setting; give a list of values instead")
    integer = number is int
    low = coerce(spec["low"], number, where=f"{at}.low")
    high = coerce(spec["high"], number, where=f"{at}.high")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"{at}.log: expected true or false, got {log!r}")
    step = spec.get("step")
    if step is not None:
        step = coerce(step, number, where=f"{at}.step")
        if not step > 0:
            raise ValueError(f"{at}.step: must be > 0, got {step}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{at}: low and high must be finite numbers, got {low} and {high}")
    if low > high:
        raise ValueError(f"{at}: low {low} is above high {high}")
    if log and step is not None:
        raise ValueError(f"{at}: a range is on a log scale or on a grid of step, not both")
    if log and low <= 0:
        raise ValueError(f"{at}: a log-scale range needs low > 0, got {low}")
    return Range(low, high, log=log, step=step, integer=integer)


def _number_kind(kind: Any) -> type | None:
    """``int`` or ``float`` for a number setting (optional or not), else None."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        kind = inner[0] if len(inner) == 1 else None
    return kind if kind in (int, float) else None


def _is_tuple_setting(kind: Any) -> bool:
    if typing.get_origin(kind) is tuple:
        return True
    return any(typing.get_origin(a) is tuple for a in typing.get_args(kind))
