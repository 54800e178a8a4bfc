"""Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix.

Plain NumPy, written here because they are a dozen lines and every task model's ``evaluate``
needs them (scikit-learn would be a heavy dependency for this alone). Percent-free: values are
fractions in [0, 1]; reports convert to percent when they print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> NDArray[np.int64]:
    """(C, C) counts: row = true class, column = predicted class."""
    true, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"confusion_matrix: y_true {true.shape} and y_pred {pred.shape} differ")
    for name, values in (("y_true", true), ("y_pred", pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} has a class outside [0, {num_classes})")
    counts = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall, F1 and support of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ClassificationReport:
    """Everything ``evaluate`` reports for a classifier."""

    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScores, ...]
    confusion: NDArray[np.int64]  # (C, C), row = true class
    labels: tuple[str, ...]

    def table(self) -> str:
        """Per-class precision/recall/F1 as an aligned text table, in percent."""
        width = max([12, *(len(label) for label in self.labels)])
        lines = [f"{'class':<{width}} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"]
        for s in self.per_class:
            lines.append(
                f"{s.label:<{width}} {100 * s.precision:9.1f} {100 * s.recall:7.1f} "
                f"{100 * s.f1:6.1f} {s.support:8d}"
            )
        total = int(self.confusion.sum())
        lines.append(f"{'accuracy':<{width}} {'':>9} {'':>7} {100 * self.accuracy:6.1f} {total:8d}")
        lines.append(f"{'macro F1':<{width}} {'':>9} {'':>7} {100 * self.macro_f1:6.1f} {total:8d}")
        return "\n".join(lines)


def classification_report(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str]
) -> ClassificationReport:
    """Accuracy, macro-F1 (mean of per-class F1, a class with no support or prediction scores 0),
    per-class scores and the confusion matrix."""
    confusion = confusion_matrix(y_true, y_pred, len(labels))
    hits = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(hits), where=denominator > 0
    )
    total = int(confusion.sum())
    per_class = tuple(
        ClassScores(label, float(p), float(r), float(f), int(n))
        for label, p, r, f, n in zip(labels, precision, recall, f1, actual, strict=True)
    )
    return ClassificationReport(
        accuracy=float(hits.sum() / total) if total else 0.0,
        macro_f1=float(f1.mean()) if len(labels) else 0.0,
        per_class=per_class,
        confusion=confusion,
        labels=tuple(labels),
    )
