"""The dataset registry: name → files, official addresses, checksums and reader; lookup and
download.

:func:`load` looks for a dataset's files, in this order:

1. ``data_dir`` if given: the files directly in it, then in ``data_dir/<folder>/``;
2. ``$RNNKIT_DATA/<folder>/`` (a relative ``RNNKIT_DATA`` is taken from the working directory);
3. the cache, ``~/.cache/rnnkit/<folder>/``;
4. and only then downloads the missing files from the official address into the cache, checking
   each against its sha256 when one is recorded. ``download=False`` or ``RNNKIT_OFFLINE=1``
   forbid this step.

The first place that holds *every* file of the dataset is used. Files found on disk are not
checksummed (a rebuilt archive with the same layout must load); their layout is checked by the
reader. When nothing is found and nothing can be downloaded, :class:`DatasetNotFoundError` says
which files to put where.
"""

from __future__ import annotations

import hashlib
import http.client
import inspect
import os
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit._io import atomic_path
from rnnkit.datasets.base import ClassificationData, DatasetFormatError, DatasetNotFoundError
from rnnkit.datasets.newsgroups import read_newsgroups
from rnnkit.datasets.sst import read_sst2, read_sst5
from rnnkit.datasets.user import load_user

__all__ = [
    "OFFLINE_ENV",
    "REGISTRY",
    "ROOT_ENV",
    "USER_SCHEMES",
    "DatasetSpec",
    "RemoteFile",
    "available",
    "cache_root",
    "load",
    "locate",
]

ROOT_ENV = "RNNKIT_DATA"
OFFLINE_ENV = "RNNKIT_OFFLINE"
USER_SCHEMES: tuple[str, ...] = ("csv", "tsv", "jsonl", "folder")
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    Args:
        relative_path: where it lies inside the dataset's folder, e.g. ``"20news-bydate.tar.gz"``.
        url: the official address to download it from.
        sha256: the hex digest of the official file, or ``None`` where none is recorded (then a
            download is not verified).
    """

    relative_path: str
    url: str
    sha256: str | None


@dataclass(frozen=True)
class DatasetSpec:
    """What rnnkit knows about one dataset.

    Args:
        name: the name :func:`load` takes, e.g. ``"sst2"``.
        task: ``"classify"``, ``"tag"``, ``"lm"`` or ``"seq2seq"``.
        description: one line for listings.
        folder: the folder name under ``$RNNKIT_DATA`` and the cache (datasets that share files,
            such as ``sst2`` and ``sst5``, share a folder).
        files: the files the reader needs, with their official addresses and checksums.
        reader: ``reader(folder, **options) -> ClassificationData``; its keyword-only parameters
            are the options :func:`load` accepts for this dataset.
        citation: the reference to cite.
        license: the terms, as the official page states them.
    """

    name: str
    task: str
    description: str
    folder: str
    files: tuple[RemoteFile, ...]
    reader: Callable[..., ClassificationData]
    citation: str
    license: str

    def options(self) -> list[str]:
        """The keyword options of :attr:`reader`, in signature order."""
        parameters = inspect.signature(self.reader).parameters.values()
        return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


_NEWSGROUPS_URL = "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz"
# The official archive's digest as scikit-learn records it (its figshare mirror is the same file).
_NEWSGROUPS_SHA256 = "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610"
_SST_URL = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
_SST_SHA256 = "5c613a4f673fc74097d523a2c83f38e0cc462984d847b82c7aaf36b01cbbbfcc"
_SST_CITATION = (
    "Richard Socher, Alex Perelygin, Jean Wu, Jason Chuang, Christopher D. Manning, Andrew Ng, "
    "Christopher Potts. Recursive Deep Models for Semantic Compositionality Over a Sentiment "
    "Treebank. EMNLP 2013."
)
_SST_LICENSE = (
    "No explicit license on https://nlp.stanford.edu/sentiment/; used and redistributed for "
    "research. Sentences from rottentomatoes.com reviews (Pang & Lee)."
)
_SST_FILES = (RemoteFile("trainDevTestTrees_PTB.zip", _SST_URL, _SST_SHA256),)

REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="20newsgroups",
            task="classify",
            description="20 Newsgroups (bydate): Usenet posts in 20 groups; "
            "train 11,314 (10% held out as val) / test 7,532",
            folder="20newsgroups",
            files=(RemoteFile("20news-bydate.tar.gz", _NEWSGROUPS_URL, _NEWSGROUPS_SHA256),),
            reader=read_newsgroups,
            citation="Ken Lang. NewsWeeder: Learning to Filter Netnews. ICML 1995, pp. 331-339.",
            license="No license stated on http://qwone.com/~jason/20Newsgroups/; public Usenet "
            "posts from 1993, widely redistributed for research; each post is its author's.",
        ),
        DatasetSpec(
            name="sst2",
            task="classify",
            description="Stanford Sentiment Treebank, binary (neutral dropped): "
            "6,920 / 872 / 1,821 sentences",
            folder="sst",
            files=_SST_FILES,
            reader=read_sst2,
            citation=_SST_CITATION,
            license=_SST_LICENSE,
        ),
        DatasetSpec(
            name="sst5",
            task="classify",
            description="Stanford Sentiment Treebank, 5 classes: 8,544 / 1,101 / 2,210 sentences",
            folder="sst",
            files=_SST_FILES,
            reader=read_sst5,
            citation=_SST_CITATION,
            license=_SST_LICENSE,
        ),
    )
}


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
    for remote in spec.files:
        lines.append(f"Download {remote.url} and save it as one of (looked there, in order):")
        lines += [f"  {place / remote.relative_path}" for place in places]
    if not os.environ.get(ROOT_ENV):
        lines.append(f"Or set {ROOT_ENV} to a folder holding {spec.folder}/ with these files.")
    return DatasetNotFoundError("\n".join(lines))


def _download(remote: RemoteFile, target: Path) -> None:
    """Fetch ``remote.url`` to ``target`` through a temporary file in the same folder, checking
    the sha256; the temporary file never outlives a failure."""
    print(f"rnnkit: downloading {remote.url} -> {target}", file=sys.stderr)
    with (
        atomic_path(target) as temp,
        temp.open("wb") as out,
        urllib.request.urlopen(remote.url, timeout=_TIMEOUT_S) as response,
    ):
        digest = hashlib.sha256()
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        actual = digest.hexdigest()
        if remote.sha256 is not None and actual != remote.sha256.lower():
            raise DatasetFormatError(
                f"{target}: sha256 mismatch for the download from {remote.url}: expected "
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
    if not download:
        raise _not_found(spec, places, "downloading is off (download=False)")
    if _offline():
        raise _not_found(spec, places, f"downloading is off ({OFFLINE_ENV}=1)")
    for remote in spec.files:
        target = cache / remote.relative_path
        if target.is_file():
            continue
        try:
            _download(remote, target)
        except (OSError, ValueError, http.client.HTTPException) as error:
            if isinstance(error, DatasetFormatError):
                raise
            raise _not_found(spec, places, f"the download failed ({error})") from None
    return cache


def load(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    **options: Any,
) -> ClassificationData:
    """Load a dataset by name, or the user's own files.

    Args:
        name: a registered dataset (see :func:`available`: ``"20newsgroups"``, ``"sst2"``,
            ``"sst5"``), or the user's files as ``"csv:PATH"``, ``"tsv:PATH"``, ``"jsonl:PATH"``
            or ``"folder:PATH"`` (see :func:`rnnkit.datasets.user.load_user`).
        data_dir: a folder to look in first (the files directly in it, or in its ``<folder>/``).
        download: whether a dataset found nowhere may be downloaded into ``~/.cache/rnnkit``
            (``RNNKIT_OFFLINE=1`` in the environment forbids it too).
        **options: the reader's options, e.g. ``remove=("headers",)`` for ``20newsgroups``,
            ``phrases=True`` for ``sst2``; unknown ones are rejected with the list of known ones.

    Returns:
        The dataset's ``train`` / ``val`` / ``test`` examples and its labels.

    Raises:
        ValueError: an unknown name or option.
        DatasetNotFoundError: the files are nowhere and cannot be downloaded; the message lists
            the official addresses and the exact paths to put the files at.
        DatasetFormatError: a file is not what the reader expects (named, with what is missing).
    """
    scheme, colon, rest = name.partition(":")
    if colon and scheme in USER_SCHEMES:
        if data_dir is not None:
            raise ValueError(f"load({name!r}): data_dir applies to registered datasets only")
        return load_user(scheme, rest, **options)
    spec = _spec(name)
    known = spec.options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"load({spec.name!r}): unknown option(s) {', '.join(unknown)}; "
            f"options: {', '.join(known) or 'none'}"
        )
    folder = locate(spec.name, data_dir=data_dir, download=download)
    return spec.reader(folder, **options)


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
