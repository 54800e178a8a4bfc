"""rnnkit.metrics — classification scores, and entity scores counted as CoNLL's ``conlleval``.

- ``classification``: accuracy, macro-F1, per-class scores, confusion matrix.
- ``entities``: entity precision/recall/F1 and token accuracy over sentences of tags.
"""

from rnnkit.metrics.classification import (
    ClassificationReport,
    ClassScores,
    classification_report,
    confusion_matrix,
)
from rnnkit.metrics.entities import EntityCounts, EntityReport, TypeScores, entity_report

__all__ = [
    "ClassScores",
    "ClassificationReport",
    "EntityCounts",
    "EntityReport",
    "TypeScores",
    "classification_report",
    "confusion_matrix",
    "entity_report",
]
