"""The dataset registry: name → files, official addresses, checksums and reader; lookup and
download.

The entries are declared by the reader modules that own them (``SPECS`` in
:mod:`~rnnkit.datasets.newsgroups`, :mod:`~rnnkit.datasets.sst`, :mod:`~rnnkit.datasets.conll`,
:mod:`~rnnkit.datasets.corpora`, :mod:`~rnnkit.datasets.parallel`), as are the ways to name the
user's own files (``USER_FORMATS``: ``csv:``, ``tsv:``, ``jsonl:``, ``folder:`` in
:mod:`~rnnkit.datasets.user`, ``columns:`` in :mod:`~rnnkit.datasets.conll`, ``text:`` in
:mod:`~rnnkit.datasets.corpora`, ``parallel:`` and ``pairs:`` in
:mod:`~rnnkit.datasets.parallel`); this module only collects them.

:func:`load` looks for a dataset's files, in this order:

1. ``data_dir`` if given: the files directly in it, then in ``data_dir/<folder>/``;
2. ``$RNNKIT_DATA/<folder>/`` (a relative ``RNNKIT_DATA`` is taken from the working directory);
3. the cache, ``~/.cache/rnnkit/<folder>/``;
4. and only then downloads the missing files from the official address into the cache, checking
   each against its sha256 when one is recorded. ``download=False`` or ``RNNKIT_OFFLINE=1``
   forbid this step; a dataset with no public download address (CoNLL-2003) never takes it.

The first place that holds *every* file of the dataset is used. Files found on disk are not
checksummed (a rebuilt archive with the same layout must load); their layout is checked by the
reader. When nothing is found and nothing can be downloaded, :class:`DatasetNotFoundError` says
which files to put where.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any, Literal, overload

from rnnkit._io import atomic_path
from rnnkit.datasets import conll, corpora, newsgroups, parallel, sst, user
from rnnkit.datasets.base import (
    ClassificationData,
    CorpusData,
    DatasetFormatError,
    DatasetNotFoundError,
    ParallelData,
    TaggingData,
)
from rnnkit.datasets.spec import TASK_CONTAINERS, DatasetSpec, RemoteFile, UserFormat

__all__ = [
    "OFFLINE_ENV",
    "REGISTRY",
    "ROOT_ENV",
    "SPECS",
    "USER_FORMATS",
    "USER_SCHEMES",
    "DatasetSpec",
    "RemoteFile",
    "UserFormat",
    "available",
    "cache_root",
    "load",
    "locate",
]

ROOT_ENV = "RNNKIT_DATA"
OFFLINE_ENV = "RNNKIT_OFFLINE"
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0

# Every reader module declares its own datasets and user formats; this is the only list of them.
SPECS: tuple[DatasetSpec, ...] = (
    *newsgroups.SPECS,
    *sst.SPECS,
    *conll.SPECS,
    *corpora.SPECS,
    *parallel.SPECS,
)
_FORMATS: tuple[UserFormat, ...] = (
    *user.USER_FORMATS,
    *conll.USER_FORMATS,
    *corpora.USER_FORMATS,
    *parallel.USER_FORMATS,
)


def _unique(kind: str, names: list[str]) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:  # pragma: no cover - a reader module declared a name another one has
        raise RuntimeError(f"rnnkit.datasets: {kind} declared twice: {repeated}")


_unique("dataset", [spec.name for spec in SPECS])
_unique("user scheme", [fmt.scheme for fmt in _FORMATS])
REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in SPECS}
USER_FORMATS: dict[str, UserFormat] = {fmt.scheme: fmt for fmt in _FORMATS}
USER_SCHEMES: tuple[str, ...] = tuple(USER_FORMATS)


def cache_root() -> Path:
    """``~/.cache/rnnkit``: where downloads go (``~`` is ``$HOME``)."""
    return Path.home() / ".cache" / "rnnkit"


def _spec(name: str) -> DatasetSpec:
    spec = REGISTRY.get(name.lower())
    if spec is None:
        known = ", ".join(sorted(REGISTRY))
        schemes = ", ".join(f"'{scheme}:PATH'" for scheme in USER_SCHEMES)
        raise ValueError(
            f"unknown dataset {name!r}; known datasets: {known} (or your own files: {schemes})"
        )
    return spec


def _candidates(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """The folders to look in, in lookup order; the cache folder is always last."""
    places: list[Path] = []
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        places += [root, root / spec.folder]
    env_root = os.environ.get(ROOT_ENV, "").strip()
    if env_root:
        places.append(Path(env_root).expanduser().absolute() / spec.folder)
    places.append(cache_root() / spec.folder)
    return places


def _has_all(folder: Path, spec: DatasetSpec) -> bool:
    return all((folder / remote.relative_path).is_file() for remote in spec.files)


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _not_found(spec: DatasetSpec, places: list[Path], why: str) -> DatasetNotFoundError:
    """The one message that says which files to put where."""
    lines = [f"dataset {spec.name!r} not found, and {why}."]
    manual = [remote.relative_path for remote in spec.files if remote.url is None]
    for remote in spec.files:
        if remote.url is not None:
            lines.append(f"Download {remote.url} and save it as one of (looked there, in order):")
            lines += [f"  {place / remote.relative_path}" for place in places]
    if manual:
        page = f"the official page {spec.homepage}" if spec.homepage else "its official page"
        lines.append(
            f"Get {', '.join(manual)} as {page} says (there is no public download address) and "
            "put them in one of these folders (looked there, in order):"
        )
        lines += [f"  {place}" for place in places]
    if not os.environ.get(ROOT_ENV):
        lines.append(f"Or set {ROOT_ENV} to a folder holding {spec.folder}/ with these files.")
    return DatasetNotFoundError("\n".join(lines))


def _download(remote: RemoteFile, url: str, target: Path) -> None:
    """Fetch ``url`` (``remote``'s) to ``target`` through a temporary file in the same folder,
    checking the sha256; the temporary file never outlives a failure."""
    print(f"rnnkit: downloading {url} -> {target}", file=sys.stderr)
    with (
        atomic_path(target) as temp,
        temp.open("wb") as out,
        urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response,
    ):
        digest = hashlib.sha256()
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        actual = digest.hexdigest()
        if remote.sha256 is not None and actual != remote.sha256.lower():
            raise DatasetFormatError(
                f"{target}: sha256 mismatch for the download from {url}: expected "
                f"{remote.sha256}, got {actual}; the downloaded file was deleted"
            )


def locate(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> Path:
    """The folder holding every file of dataset ``name``, downloading into the cache if needed.

    Args and lookup order as :func:`load`.

    Raises:
        ValueError: ``name`` is not a registered dataset.
        DatasetNotFoundError: not on disk, and downloads are off or failed.
        DatasetFormatError: a download does not match its recorded sha256.
    """
    spec = _spec(name)
    places = _candidates(spec, data_dir)
    for place in places:
        if _has_all(place, spec):
            return place
    cache = places[-1]
    if any(remote.url is None for remote in spec.files):
        raise _not_found(spec, places, "it cannot be downloaded")
    if not download:
        raise _not_found(spec, places, "downloading is off (download=False)")
    if _offline():
        raise _not_found(spec, places, f"downloading is off ({OFFLINE_ENV}=1)")
    for remote in spec.files:
        target = cache / remote.relative_path
        if target.is_file() or remote.url is None:
            continue
        try:
            _download(remote, remote.url, target)
        except (OSError, ValueError, http.client.HTTPException) as error:
            if isinstance(error, DatasetFormatError):
                raise
            raise _not_found(spec, places, f"the download failed ({error})") from None
    return cache


@overload
def load(
    name: str,
    task: Literal["classify"] = ...,
    /,
    *,
    data_dir: str | os.PathLike[str] | None = ...,
    download: bool = ...,
    **options: Any,
) -> ClassificationData: ...


@overload
def load(
    name: str,
    task: Literal["tag"],
    /,
    *,
    data_dir: str | os.PathLike[str] | None = ...,
    download: bool = ...,
    **options: Any,
) -> TaggingData: ...


@overload
def load(
    name: str,
    task: Literal["lm"],
    /,
    *,
    data_dir: str | os.PathLike[str] | None = ...,
    download: bool = ...,
    **options: Any,
) -> CorpusData: ...


@overload
def load(
    name: str,
    task: Literal["seq2seq"],
    /,
    *,
    data_dir: str | os.PathLike[str] | None = ...,
    download: bool = ...,
    **options: Any,
) -> ParallelData: ...


# No further variant taking any ``task: str``: beside a ``**dict[str, Any]`` of options it would
# make mypy infer ``Any`` for every call. A task held in a ``str`` is narrowed to a literal first.


def load(
    name: str,
    task: str = "classify",
    /,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    **options: Any,
) -> ClassificationData | TaggingData | CorpusData | ParallelData:
    """Load a dataset by name, or the user's own files.

    Args:
        name: a registered dataset (see :func:`available`: ``"20newsgroups"``, ``"sst2"``,
            ``"sst5"``, ``"conll2003"``, ``"ptb"``, ``"multi30k"``, ...), or the user's files as
            ``"csv:PATH"``, ``"tsv:PATH"``, ``"jsonl:PATH"`` or ``"folder:PATH"`` (labelled
            texts, see :func:`rnnkit.datasets.user.load_user`) or ``"columns:PATH"`` (tagged
            sentences, see :mod:`rnnkit.datasets.conll`) or ``"text:PATH"`` (a corpus for
            language models, see :func:`rnnkit.datasets.corpora.load_text`) or
            ``"parallel:FOLDER"`` (two line-aligned files per split, see
            :func:`rnnkit.datasets.parallel.read_parallel`) or ``"pairs:PATH"`` (a TSV of
            sentence pairs, see :func:`rnnkit.datasets.parallel.read_pairs`).
        task: the kind of data asked for, which the dataset must hold: ``"classify"`` (the
            default) gives :class:`ClassificationData`, ``"tag"`` gives :class:`TaggingData`, so
            ``load("conll2003", "tag")``, ``"lm"`` gives :class:`CorpusData`, ``"seq2seq"``
            gives :class:`ParallelData` (``load("multi30k", "seq2seq", src="de", tgt="en")``).
            A static type checker reads the return type from it (so it takes one of these
            literals).
        data_dir: a folder to look in first (the files directly in it, or in its ``<folder>/``).
        download: whether a dataset found nowhere may be downloaded into ``~/.cache/rnnkit``
            (``RNNKIT_OFFLINE=1`` in the environment forbids it too).
        **options: the reader's options, e.g. ``remove=("headers",)`` for ``20newsgroups``,
            ``phrases=True`` for ``sst2``, ``features=(1, 2)`` for ``conll2003``, ``src`` and
            ``tgt`` for ``multi30k``; unknown ones are rejected with the list of known ones.

    Returns:
        The dataset's ``train`` / ``val`` / ``test`` splits, as the container of ``task``.

    Raises:
        ValueError: an unknown name, task or option, or a dataset of another task than ``task``
            (the message says which task to ask for).
        DatasetNotFoundError: the files are nowhere and cannot be downloaded; the message lists
            the official addresses and the exact paths to put the files at.
        DatasetFormatError: a file is not what the reader expects (named, with what is missing).
    """
    if task not in TASK_CONTAINERS:
        raise ValueError(
            f"load({name!r}, {task!r}): task must be one of {', '.join(TASK_CONTAINERS)}"
        )
    scheme, colon, rest = name.partition(":")
    user_format = USER_FORMATS.get(scheme) if colon else None
    if user_format is not None:
        if data_dir is not None:
            raise ValueError(f"load({name!r}): data_dir applies to registered datasets only")
        _check_request(name, user_format.task, task, user_format.options(), options)
        data = user_format.loader(rest, **options)
    else:
        spec = _spec(name)
        _check_request(spec.name, spec.task, task, spec.options(), options)
        folder = locate(spec.name, data_dir=data_dir, download=download)
        data = spec.reader(folder, **options)
    if not isinstance(data, TASK_CONTAINERS[task]):  # pragma: no cover - a reader's own bug
        raise TypeError(f"load({name!r}): the reader returned a {type(data).__name__}")
    return data


def _check_request(
    name: str, holds: str, task: str, known: list[str], options: dict[str, Any]
) -> None:
    """The dataset holds data of ``task``, and takes every option given."""
    if holds != task:
        container = TASK_CONTAINERS[holds].__name__
        raise ValueError(
            f"{name} is a {holds!r} dataset ({container}), not {task!r}: train it with "
            f"`rnnkit train {holds}` (from Python: load({name!r}, {holds!r}))"
        )
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"load({name!r}): unknown option(s) {', '.join(unknown)}; "
            f"options: {', '.join(known) or 'none'}"
        )


def available(*, data_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every registered dataset and whether its files are on disk (nothing is downloaded).

    Returns:
        One dict per dataset, sorted by name: ``name``, ``task``, ``description``, ``present``
        (bool), ``path`` (the folder it would load from, or ``None``), ``files`` (the file names)
        and ``options`` (what :func:`load` accepts for it).
    """
    rows: list[dict[str, Any]] = []
    for name in sorted(REGISTRY):
        spec = REGISTRY[name]
        found = next((p for p in _candidates(spec, data_dir) if _has_all(p, spec)), None)
        rows.append(
            {
                "name": spec.name,
                "task": spec.task,
                "description": spec.description,
                "present": found is not None,
                "path": None if found is None else str(found),
                "files": [remote.relative_path for remote in spec.files],
                "options": spec.options(),
            }
        )
    return rows
