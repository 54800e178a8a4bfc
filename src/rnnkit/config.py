"""Typed dataclass configs: help text from their comments, checked construction from mappings,
and YAML/TOML files with the same keys as the command-line flags.

A config is a frozen dataclass whose every field carries a trailing comment, as in
``epochs: int = 10  # passes over the training batches``; that comment is the flag's help.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import sys
import textwrap
import tokenize
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

ConfigT = TypeVar("ConfigT")


def field_help(cls: type) -> dict[str, str]:
    """The comment of each field of dataclass ``cls``, by field name: the first comment on the
    lines of the field's assignment (a formatter may spread one field over several lines).
    Read from the source once per class (every ``rnnkit`` command builds its flags from it)."""
    return dict(_field_help(cls))


@functools.cache
def _field_help(cls: type) -> dict[str, str]:
    source = textwrap.dedent(inspect.getsource(cls))
    comments: dict[int, str] = {}  # line number -> comment text
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments.setdefault(token.start[0], token.string.lstrip("#").strip())
    found: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            last = node.end_lineno or node.lineno
            lines = range(node.lineno, last + 1)
            text = next((comments[n] for n in lines if n in comments), None)
            if text is not None:
                found[node.target.id] = text
    return found


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type of each field of dataclass ``cls`` (resolved once per class)."""
    return dict(_field_types(cls))


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def coerce(value: Any, kind: Any, *, where: str) -> Any:
    """``value`` checked against (and, for text from the command line, converted to) ``kind``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], where=where)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return tuple(coerce(item, args[0], where=where) for item in items if item != "")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{where}: expected an integer, got {value!r}") from None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected text, got {value!r}")
        return value
    return value


def from_mapping(cls: type[ConfigT], values: Mapping[str, Any], *, where: str) -> ConfigT:
    """Build dataclass ``cls`` from ``values``; unknown keys and wrong types are one clear error."""
    kinds = field_types(cls)
    unknown = sorted(set(values) - set(kinds))
    if unknown:
        raise ValueError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"valid keys: {', '.join(kinds)}"
        )
    checked = {k: coerce(v, kinds[k], where=f"{where}.{k}") for k, v in values.items()}
    return cls(**checked)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML (.yaml/.yml) or TOML (.toml) file as a mapping; errors name the file."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"config file {file} does not exist")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix == ".toml":
            loaded: Any = tomllib.loads(text)
        elif file.suffix in (".yaml", ".yml"):
            loaded = yaml.safe_load(text)
        else:
            raise ValueError(f"config file {file}: expected a .yaml, .yml or .toml file")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        detail = str(exc).replace("\n", " ")
        raise ValueError(
            f"config file {file} is not valid {file.suffix[1:].upper()}: {detail}"
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"config file {file}: expected a mapping of keys to values at the top")
    return loaded


def as_plain(config: Any) -> Any:
    """A dataclass (nested) as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: as_plain(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, tuple | list):
        return [as_plain(item) for item in config]
    return config


# -- nested configs: sections of sections, addressed by dotted keys ------------------------------


def is_section(kind: Any) -> bool:
    """Whether a field type is itself a config dataclass (a section)."""
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def setting_paths(cls: type, prefix: str = "") -> dict[str, tuple[type, str]]:
    """Every setting of the nested config ``cls`` by dotted path, e.g.
    ``"model.encoder.hidden_size" -> (EncoderConfig, "hidden_size")``, in declaration order."""
    paths: dict[str, tuple[type, str]] = {}
    for name, kind in field_types(cls).items():
        path = f"{prefix}{name}"
        if is_section(kind):
            paths.update(setting_paths(kind, prefix=f"{path}."))
        else:
            paths[path] = (cls, name)
    return paths


def short_names(cls: type) -> dict[str, str]:
    """The settings of ``cls`` whose last name is unique in it: ``{"hidden_size":
    "model.encoder.hidden_size", ...}`` (a name two sections share has no short form)."""
    by_name: dict[str, list[str]] = {}
    for path in setting_paths(cls):
        by_name.setdefault(path.rpartition(".")[2], []).append(path)
    return {name: paths[0] for name, paths in by_name.items() if len(paths) == 1}


def resolve_nested(cls: type[ConfigT], *layers: Mapping[str, Any], where: str) -> ConfigT:
    """Build the nested config ``cls`` from ``layers`` (later ones win).

    A layer's keys may be nested mappings (``{"model": {"encoder": {"hidden_size": 8}}}``, as
    ``config.json`` and TOML sections hold them), dotted (``"model.encoder.hidden_size"``) or
    short (``"hidden_size"``) where the name is unique in its section, at any level: a config
    file of flat keys, or a ``[model]`` section naming ``hidden_size``, finds the nested
    setting. Unknown or ambiguous keys are one clear error listing the valid ones."""
    values: dict[str, Any] = {}
    for layer in layers:
        _assign(cls, "", layer, values, where=where)
    return _build(cls, "", values, where=where)


def _assign(
    cls: type, prefix: str, layer: Mapping[str, Any], out: dict[str, Any], *, where: str
) -> None:
    kinds = field_types(cls)
    for key, value in layer.items():
        head, dot, rest = str(key).partition(".")
        if dot:
            if head in kinds and is_section(kinds[head]):
                _assign(kinds[head], f"{prefix}{head}.", {rest: value}, out, where=where)
                continue
            _unknown(cls, prefix, str(key), where=where)
        if key in kinds:
            if is_section(kinds[key]):
                if not isinstance(value, Mapping):
                    raise ValueError(
                        f"{where}: {prefix}{key} is a section; give its keys "
                        f"({', '.join(setting_paths(kinds[key], prefix=f'{prefix}{key}.'))})"
                    )
                _assign(kinds[key], f"{prefix}{key}.", value, out, where=where)
            else:
                out[f"{prefix}{key}"] = value
            continue
        matches = [p for p in setting_paths(cls) if p.rpartition(".")[2] == key]
        if len(matches) == 1:
            out[f"{prefix}{matches[0]}"] = value
        elif matches:
            choices = ", ".join(f"{prefix}{m}" for m in matches)
            raise ValueError(f"{where}: {prefix}{key} is ambiguous; say which: {choices}")
        else:
            _unknown(cls, prefix, str(key), where=where)


def _unknown(cls: type, prefix: str, key: str, *, where: str) -> None:
    valid = ", ".join(f"{prefix}{p}" for p in setting_paths(cls))
    scope = f" in {prefix[:-1]}" if prefix else ""
    raise ValueError(f"{where}: unknown key '{prefix}{key}'; valid keys{scope}: {valid}")


def _build(
    cls: type[ConfigT], prefix: str, values: dict[str, Any], *, where: str, base: Any = None
) -> ConfigT:
    """``cls`` from the ``values`` under ``prefix``; what they leave out comes from ``base``
    (the enclosing section's default for this one: a tagger's encoder defaults to H = 200,
    not to EncoderConfig's own 128), else from ``cls``'s defaults."""
    kinds = field_types(cls)
    leaves = {n: values[f"{prefix}{n}"] for n in kinds if f"{prefix}{n}" in values}
    sections = {
        n: _build(kind, f"{prefix}{n}.", values, where=where, base=_section_default(cls, n, base))
        for n, kind in kinds.items()
        if is_section(kind)
    }
    checked = {k: coerce(v, kinds[k], where=f"{where}.{prefix}{k}") for k, v in leaves.items()}
    try:
        if base is not None:
            return dataclasses.replace(base, **checked, **sections)  # type: ignore[no-any-return]
        return cls(**checked, **sections)
    except TypeError as exc:  # pragma: no cover - a field the dataclass does not take
        raise ValueError(f"{where}: {prefix or 'config'}: {exc}") from None


def _section_default(cls: type, name: str, base: Any) -> Any:
    """The default value of section ``name`` of ``cls`` (from ``base`` where there is one)."""
    if base is not None:
        return getattr(base, name)
    declared = {f.name: f for f in dataclasses.fields(cls)}[name]
    if declared.default_factory is not dataclasses.MISSING:
        return declared.default_factory()
    return None if declared.default is dataclasses.MISSING else declared.default
