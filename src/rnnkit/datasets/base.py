"""The shapes every classification reader returns, and the two errors of this package.

A reader turns upstream files into a :class:`ClassificationData`: three lists of
:class:`Example` named ``train``, ``val`` and ``test`` (for every dataset, whatever upstream calls
them: SST's *dev* is ``val``), plus the label names in a fixed order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "SPLITS",
    "ClassificationData",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "Example",
    "labels_in_order",
]

SPLITS: tuple[str, ...] = ("train", "val", "test")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable; the message says which files to put
    where and where they come from."""


class DatasetFormatError(ValueError):
    """A file is not what its reader expects; the message names the file, the line (or member)
    and what was expected."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text.

    Args:
        text: the document or sentence, as the reader decoded it.
        label: the class name (a string, also for numeric upstream labels).
    """

    text: str
    label: str


@dataclass(frozen=True)
class ClassificationData:
    """A text-classification dataset split into ``train``, ``val`` and ``test``.

    Args:
        train: training examples.
        val: validation examples (for model selection and early stopping).
        test: test examples (report these; never select on them).
        labels: every class name, in the dataset's natural order (a scale such as SST's runs from
            the most negative to the most positive; otherwise sorted). Index ``i`` is class ``i``.
        name: the dataset's name, e.g. ``"sst2"``.

    Raises:
        ValueError: a label is repeated in ``labels``, or an example's label is not in it.

    >>> data = ClassificationData(
    ...     train=[Example("good film", "pos"), Example("dull", "neg")],
    ...     val=[Example("fine", "pos")],
    ...     test=[Example("awful", "neg")],
    ...     labels=["neg", "pos"],
    ...     name="toy",
    ... )
    >>> data.counts()["train"]
    {'neg': 1, 'pos': 1}
    """

    train: list[Example]
    val: list[Example]
    test: list[Example]
    labels: list[str]
    name: str = field(default="")

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            repeated = sorted(label for label, n in Counter(self.labels).items() if n > 1)
            raise ValueError(f"ClassificationData {self.name!r}: labels repeated: {repeated}")
        known = set(self.labels)
        for split in SPLITS:
            for example in self.split(split):
                if example.label not in known:
                    raise ValueError(
                        f"ClassificationData {self.name!r}: {split} has label "
                        f"{example.label!r}, which is not in labels {self.labels}"
                    )

    def split(self, name: str) -> list[Example]:
        """The examples of split ``name`` (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in SPLITS:
            raise ValueError(f"ClassificationData: split must be one of {SPLITS}, got {name!r}")
        examples: list[Example] = getattr(self, name)
        return examples

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples per label for each split: ``{"train": {label: n, ...}, "val": ..., ...}``,
        every label present (0 where a split lacks it), in the order of :attr:`labels`."""
        result: dict[str, dict[str, int]] = {}
        for split in SPLITS:
            tally = Counter(example.label for example in self.split(split))
            result[split] = {label: tally[label] for label in self.labels}
        return result

    def summary(self) -> str:
        """A plain-text table of examples per label (rows) and split (columns), with totals."""
        counts = self.counts()
        width = max([len("label"), len("total"), *(len(label) for label in self.labels)])
        header = f"{'label':<{width}}" + "".join(f"{split:>9}" for split in SPLITS)
        lines = [f"{self.name or 'dataset'}: {len(self.labels)} labels", header]
        for label in self.labels:
            cells = "".join(f"{counts[split][label]:>9,}" for split in SPLITS)
            lines.append(f"{label:<{width}}{cells}")
        totals = "".join(f"{len(self.split(split)):>9,}" for split in SPLITS)
        lines.append(f"{'total':<{width}}{totals}")
        return "\n".join(lines)


def labels_in_order(examples: Sequence[Example]) -> list[str]:
    """The sorted set of labels that occur in ``examples``."""
    return sorted({example.label for example in examples})
