"""rnnkit.datasets — benchmark datasets and the user's own files, as labelled texts.

Standard library and NumPy only: nothing here imports torch.

>>> from rnnkit.datasets import load
>>> data = load("sst2")  # doctest: +SKIP
>>> print(data.summary())  # doctest: +SKIP

``load`` looks in ``data_dir``, then ``$RNNKIT_DATA/<folder>/``, then ``~/.cache/rnnkit/<folder>/``,
and only then downloads from the official address, checking the sha256 (see
:mod:`rnnkit.datasets.registry`).
"""

from rnnkit.datasets.base import (
    ClassificationData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
)
from rnnkit.datasets.registry import DatasetSpec, available, load
from rnnkit.datasets.splits import stratified_split
from rnnkit.datasets.user import load_files, read_folder, read_table

__all__ = [
    "ClassificationData",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "Example",
    "available",
    "load",
    "load_files",
    "read_folder",
    "read_table",
    "stratified_split",
]
