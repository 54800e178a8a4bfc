"""``rnnkit.metrics`` is a package now: what it exports is pinned, the old imports still work."""

from __future__ import annotations

import rnnkit.metrics
import rnnkit.metrics.classification
import rnnkit.metrics.entities

CLASSIFICATION = {
    "ClassScores",
    "ClassificationReport",
    "classification_report",
    "confusion_matrix",
}
ENTITIES = {"EntityCounts", "EntityReport", "TypeScores", "entity_report"}


def test_all_is_pinned() -> None:
    assert set(rnnkit.metrics.__all__) == CLASSIFICATION | ENTITIES
    assert len(rnnkit.metrics.__all__) == len(CLASSIFICATION | ENTITIES)


def test_names_are_the_submodules_objects() -> None:
    for names, module in (
        (CLASSIFICATION, rnnkit.metrics.classification),
        (ENTITIES, rnnkit.metrics.entities),
    ):
        for name in names:
            namespace: dict[str, object] = {}
            exec(f"from rnnkit.metrics import {name}", namespace)  # the spelling a user writes
            assert namespace[name] is getattr(module, name)


def test_classification_report_still_works() -> None:
    report = rnnkit.metrics.classification_report([0, 1, 1], [0, 1, 0], ["a", "b"])
    assert report.accuracy == 2 / 3
    assert report.confusion.tolist() == [[1, 0], [1, 1]]
