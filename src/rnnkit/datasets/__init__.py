"""rnnkit.datasets — benchmark datasets and the user's own files, as labelled texts or tagged
sentences.

Standard library and NumPy only (and the tag schemes of :mod:`rnnkit.text.tags`): nothing here
imports torch.

>>> from rnnkit.datasets import load
>>> data = load("sst2")  # doctest: +SKIP
>>> print(data.summary())  # doctest: +SKIP
>>> ner = load("conll2003", "tag")  # doctest: +SKIP

``load`` looks in ``data_dir``, then ``$RNNKIT_DATA/<folder>/``, then ``~/.cache/rnnkit/<folder>/``,
and only then downloads from the official address, checking the sha256 (see
:mod:`rnnkit.datasets.registry`). Each reader module declares its own registry entries
(:class:`DatasetSpec`).
"""

from rnnkit.datasets.base import (
    ClassificationData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    TaggedSentence,
    TaggingData,
)
from rnnkit.datasets.conll import read_columns, read_conll2003
from rnnkit.datasets.registry import available, load
from rnnkit.datasets.spec import DatasetSpec
from rnnkit.datasets.splits import stratified_split
from rnnkit.datasets.user import load_files, read_folder, read_table

__all__ = [
    "ClassificationData",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "Example",
    "TaggedSentence",
    "TaggingData",
    "available",
    "load",
    "load_files",
    "read_columns",
    "read_conll2003",
    "read_folder",
    "read_table",
    "stratified_split",
]
