"""``confusion_matrix`` and ``classification_report`` against counts and scores worked by hand:
a class never predicted, a class with no support, a general 3-class case; the errors; the
percent table."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.metrics import ClassScores, classification_report, confusion_matrix

# --- a class never predicted and a class with no support ------------------------------------
#
# (true, predicted) pairs, labels cat=0, dog=1, bird=2:
#   (cat, cat) ×4, (cat, bird) ×1, (dog, cat) ×2, (dog, bird) ×1 — no true bird, no dog guessed.
#
#                 predicted
#                 cat dog bird | support
#   true  cat      4   0   1   |   5
#         dog      2   0   1   |   3
#         bird     0   0   0   |   0
#   predicted      6   0   2   |   8
#
#   cat:  precision 4/6 = 2/3, recall 4/5, F1 = 2·(2/3)(4/5) / (2/3 + 4/5) = (16/15)/(22/15) = 8/11
#   dog:  never predicted: precision 0 (0/0 scored 0), recall 0/3 = 0, F1 0
#   bird: no support: precision 0/2 = 0, recall 0 (0/0 scored 0), F1 0
#   accuracy = (4 + 0 + 0) / 8 = 1/2;  macro-F1 = (8/11 + 0 + 0) / 3 = 8/33
LABELS = ("cat", "dog", "bird")
PAIRS = [(0, 0), (1, 0), (0, 2), (0, 0), (1, 2), (0, 0), (1, 0), (0, 0)]
Y_TRUE = [t for t, _ in PAIRS]
Y_PRED = [p for _, p in PAIRS]
CONFUSION = [[4, 0, 1], [2, 0, 1], [0, 0, 0]]


def test_confusion_matrix_rows_are_true_columns_predicted() -> None:
    confusion = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert confusion.shape == (3, 3)
    assert confusion.dtype == np.int64
    assert confusion.tolist() == CONFUSION


def test_report_scores_a_never_predicted_and_an_unsupported_class_zero() -> None:
    report = classification_report(Y_TRUE, Y_PRED, LABELS)
    assert report.labels == LABELS
    assert report.confusion.tolist() == CONFUSION
    assert report.accuracy == pytest.approx(1 / 2)
    assert report.macro_f1 == pytest.approx(8 / 33)
    expected = (
        ClassScores("cat", precision=2 / 3, recall=4 / 5, f1=8 / 11, support=5),
        ClassScores("dog", precision=0.0, recall=0.0, f1=0.0, support=3),
        ClassScores("bird", precision=0.0, recall=0.0, f1=0.0, support=0),
    )
    assert [s.label for s in report.per_class] == list(LABELS)
    for got, want in zip(report.per_class, expected, strict=True):
        assert got.precision == pytest.approx(want.precision), got.label
        assert got.recall == pytest.approx(want.recall), got.label
        assert got.f1 == pytest.approx(want.f1), got.label
        assert got.support == want.support, got.label
        assert isinstance(got.support, int) and isinstance(got.f1, float), got.label


# --- every class with hits, precision ≠ recall ----------------------------------------------
#
#                 predicted
#                 a   b   c  | support
#   true  a       3   1   0  |   4
#         b       1   2   0  |   3
#         c       1   1   1  |   3
#   predicted     5   4   1  |  10
#
#   a: P 3/5, R 3/4, F1 = 2·(3/5)(3/4) / (3/5 + 3/4) = (9/10)/(27/20) = 2/3
#   b: P 2/4, R 2/3, F1 = 2·(1/2)(2/3) / (1/2 + 2/3) = (2/3)/(7/6)   = 4/7
#   c: P 1/1, R 1/3, F1 = 2·1·(1/3) / (1 + 1/3)       = (2/3)/(4/3)   = 1/2
#   accuracy = 6/10;  macro-F1 = (2/3 + 4/7 + 1/2) / 3 = (28 + 24 + 21)/42 / 3 = 73/126
GENERAL = [[3, 1, 0], [1, 2, 0], [1, 1, 1]]


def pairs_from(confusion: list[list[int]]) -> tuple[list[int], list[int]]:
    """(y_true, y_pred) holding each (row, column) pair as often as the matrix says."""
    y_true, y_pred = [], []
    for t, row in enumerate(confusion):
        for p, count in enumerate(row):
            y_true += [t] * count
            y_pred += [p] * count
    return y_true, y_pred


def test_report_on_a_general_three_class_case() -> None:
    y_true, y_pred = pairs_from(GENERAL)
    report = classification_report(np.array(y_true), np.array(y_pred), ["a", "b", "c"])
    assert report.confusion.tolist() == GENERAL
    assert report.accuracy == pytest.approx(6 / 10)
    assert report.macro_f1 == pytest.approx(73 / 126)
    expected = [(3 / 5, 3 / 4, 2 / 3, 4), (2 / 4, 2 / 3, 4 / 7, 3), (1.0, 1 / 3, 1 / 2, 3)]
    for got, want in zip(report.per_class, expected, strict=True):
        assert (got.precision, got.recall, got.f1, got.support) == pytest.approx(want), got.label


def test_perfect_and_empty_predictions() -> None:
    perfect = classification_report([0, 1, 2, 2], [0, 1, 2, 2], LABELS)
    assert (perfect.accuracy, perfect.macro_f1) == (1.0, 1.0)
    empty = classification_report([], [], LABELS)  # no examples: 0, not a division by zero
    assert (empty.accuracy, empty.macro_f1) == (0.0, 0.0)
    assert empty.confusion.tolist() == [[0] * 3] * 3


# --- errors -----------------------------------------------------------------------------------


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"confusion_matrix: y_true \(3,\) and y_pred \(2,\)"):
        confusion_matrix([0, 1, 2], [0, 1], 3)
    with pytest.raises(ValueError, match="differ"):
        classification_report([0, 1, 2], [0, 1], LABELS)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "name"),
    [
        ([0, 3], [0, 1], "y_true"),  # one past the last class
        ([0, -1], [0, 1], "y_true"),
        ([0, 1], [0, 3], "y_pred"),
        ([0, 1], [-2, 1], "y_pred"),
    ],
)
def test_a_class_out_of_range_is_an_error(y_true: list[int], y_pred: list[int], name: str) -> None:
    with pytest.raises(ValueError, match=rf"confusion_matrix: {name} has a class outside \[0, 3\)"):
        confusion_matrix(y_true, y_pred, 3)
    with pytest.raises(ValueError, match=rf"{name} has a class outside \[0, 3\)"):
        classification_report(y_true, y_pred, LABELS)  # three labels: classes 0, 1, 2


# --- the table ------------------------------------------------------------------------------


def test_table_shows_percent() -> None:
    lines = classification_report(Y_TRUE, Y_PRED, LABELS).table().splitlines()
    assert [line.split() for line in lines] == [
        ["class", "precision", "recall", "f1", "support"],
        ["cat", "66.7", "80.0", "72.7", "5"],  # 2/3, 4/5, 8/11
        ["dog", "0.0", "0.0", "0.0", "3"],
        ["bird", "0.0", "0.0", "0.0", "0"],
        ["accuracy", "50.0", "8"],  # 1/2 of 8 examples
        ["macro", "F1", "24.2", "8"],  # 8/33
    ]
    assert len({len(line) for line in lines}) == 1, "columns are aligned"


def test_table_widens_for_a_long_label() -> None:
    label = "a-label-longer-than-twelve"
    lines = classification_report([0, 1], [0, 1], [label, "b"]).table().splitlines()
    assert lines[1].startswith(label + " ")
    assert len({len(line) for line in lines}) == 1, "columns are aligned"


def test_table_of_a_report_without_labels() -> None:
    lines = classification_report([], [], []).table().splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1", "support"]
