"""rnnkit.datasets — benchmark datasets and the user's own files, as labelled texts, tagged
sentences, token streams for language models or sentence pairs for translation.

Standard library and NumPy only (and the tag schemes of :mod:`rnnkit.text.tags`): nothing here
imports torch.

>>> from rnnkit.datasets import load
>>> data = load("sst2")  # doctest: +SKIP
>>> print(data.summary())  # doctest: +SKIP
>>> ner = load("conll2003", "tag")  # doctest: +SKIP
>>> ptb = load("ptb", "lm")  # doctest: +SKIP
>>> de_en = load("multi30k", "seq2seq", src="de", tgt="en")  # doctest: +SKIP

``load`` looks in ``data_dir``, then ``$RNNKIT_DATA/<folder>/``, then ``~/.cache/rnnkit/<folder>/``,
and only then downloads from the official address, checking the sha256 (see
:mod:`rnnkit.datasets.registry`). Each reader module declares its own registry entries
(:class:`DatasetSpec`).
"""

from rnnkit.datasets.base import (
    ClassificationData,
    CorpusData,
    DatasetFormatError,
    DatasetNotFoundError,
    Example,
    Pair,
    ParallelData,
    TaggedSentence,
    TaggingData,
)
from rnnkit.datasets.conll import read_columns, read_conll2003
from rnnkit.datasets.corpora import load_text
from rnnkit.datasets.parallel import read_multi30k, read_pairs, read_parallel
from rnnkit.datasets.registry import available, load
from rnnkit.datasets.spec import DatasetSpec
from rnnkit.datasets.splits import stratified_split
from rnnkit.datasets.user import load_files, read_folder, read_table

__all__ = [
    "ClassificationData",
    "CorpusData",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "Example",
    "Pair",
    "ParallelData",
    "TaggedSentence",
    "TaggingData",
    "available",
    "load",
    "load_files",
    "load_text",
    "read_columns",
    "read_conll2003",
    "read_folder",
    "read_multi30k",
    "read_pairs",
    "read_parallel",
    "read_table",
    "stratified_split",
]
