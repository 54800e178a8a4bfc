"""What a reader module declares about the data it reads: :class:`DatasetSpec` for a named
dataset (its files, official addresses, checksums, reader and terms) and :class:`UserFormat` for
a way of naming the user's own files (``"csv:PATH"``, ``"columns:PATH"``).

Each reader module holds its declarations in a tuple (``SPECS``, ``USER_FORMATS``);
:mod:`rnnkit.datasets.registry` collects them and knows nothing about any one dataset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnkit.datasets.base import ClassificationData, CorpusData, ParallelData, TaggingData

Container = ClassificationData | TaggingData | CorpusData | ParallelData

__all__ = ["TASK_CONTAINERS", "DatasetSpec", "RemoteFile", "UserFormat"]

# The container a dataset of each task comes as.
TASK_CONTAINERS: dict[
    str, type[ClassificationData] | type[TaggingData] | type[CorpusData] | type[ParallelData]
] = {
    "classify": ClassificationData,
    "tag": TaggingData,
    "lm": CorpusData,
    "seq2seq": ParallelData,
}


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    Args:
        relative_path: where it lies inside the dataset's folder, e.g. ``"20news-bydate.tar.gz"``.
        url: the official address to download it from, or ``None`` where there is no public
            download (then the not-found message points to the dataset's ``homepage``).
        sha256: the hex digest of the official file, or ``None`` where none is recorded (then a
            download is not verified).
    """

    relative_path: str
    url: str | None
    sha256: str | None


def _keyword_options(reader: Callable[..., Any]) -> list[str]:
    parameters = inspect.signature(reader).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


@dataclass(frozen=True)
class DatasetSpec:
    """What rnnkit knows about one dataset.

    Args:
        name: the name :func:`~rnnkit.datasets.load` takes, e.g. ``"sst2"``.
        task: ``"classify"``, ``"tag"``, ``"lm"`` or ``"seq2seq"`` (the keys of
            :data:`TASK_CONTAINERS`): which container the reader returns.
        description: one line for listings.
        folder: the folder name under ``$RNNKIT_DATA`` and the cache (datasets that share files,
            such as ``sst2`` and ``sst5``, share a folder).
        files: the files the reader needs, with their official addresses and checksums.
        reader: ``reader(folder, **options)`` returning the task's container
            (:class:`~rnnkit.datasets.ClassificationData`, :class:`~rnnkit.datasets.TaggingData`,
            :class:`~rnnkit.datasets.CorpusData` or :class:`~rnnkit.datasets.ParallelData`); its
            keyword-only parameters are the options
            :func:`~rnnkit.datasets.load` accepts for this dataset.
        citation: the reference to cite.
        license: the terms, as the official page states them.
        homepage: the official page, named where the files cannot be downloaded.
    """

    name: str
    task: str
    description: str
    folder: str
    files: tuple[RemoteFile, ...]
    reader: Callable[..., Container]
    citation: str
    license: str
    homepage: str = ""

    def options(self) -> list[str]:
        """The keyword options of :attr:`reader`, in signature order."""
        return _keyword_options(self.reader)


@dataclass(frozen=True)
class UserFormat:
    """One way to name the user's own files: ``load(f"{scheme}:PATH")``.

    Args:
        scheme: the part before the colon, e.g. ``"csv"``.
        task: as for :class:`DatasetSpec`.
        loader: ``loader(PATH, **options)`` returning the task's container; its keyword-only
            parameters are the options :func:`~rnnkit.datasets.load` accepts.
    """

    scheme: str
    task: str
    loader: Callable[..., Container]

    def options(self) -> list[str]:
        """The keyword options of :attr:`loader`, in signature order."""
        return _keyword_options(self.loader)
