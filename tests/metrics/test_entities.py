"""``entity_report``: conlleval's counts worked by hand, its table, errors, and seqeval (default
mode, which follows conlleval) as an oracle, on hand cases, random tags and CoNLL-2003 dev.

The real-data tests run when ``RNNKIT_DATA`` is set (CI sets it to ``../shared/data``).
"""

from __future__ import annotations

import doctest
import os
import random
from pathlib import Path

import pytest

import rnnkit.metrics.entities
from rnnkit.metrics import EntityCounts, EntityReport, TypeScores, entity_report

needs_data = pytest.mark.skipif(
    not os.environ.get("RNNKIT_DATA"), reason="RNNKIT_DATA is not set (CI sets ../shared/data)"
)

Sentences = list[list[str]]


def read_conll_tags(path: Path) -> Sentences:
    """The NER column of a CoNLL-2003 file, one list per sentence, ``-DOCSTART-`` skipped.
    (A stand-in until the dataset reader lands.)"""
    sentences: Sentences = []
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        current.append(line.split()[-1])
    if current:
        sentences.append(current)
    return sentences


def counts(report: EntityReport) -> tuple[int, int, int]:
    """(correct, predicted, gold) chunks."""
    return report.counts.correct, report.counts.predicted, report.counts.gold


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.metrics.entities, report=False)
    assert result.attempted > 0 and result.failed == 0


# --- hand-worked cases ------------------------------------------------------------------------


def test_iob2_one_entity_cut_short() -> None:
    # gold PER[0,2) LOC[3,4); predicted PER[0,1) LOC[3,4): 1 correct (LOC) of 2 predicted of
    # 2 gold; tags right on tokens 0, 2, 3 (3 of 4).
    report = entity_report([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-LOC"]])
    assert report.counts == EntityCounts(tokens=4, correct_tags=3, gold=2, predicted=2, correct=1)
    assert (report.precision, report.recall, report.f1, report.accuracy) == (0.5, 0.5, 0.5, 0.75)
    assert report.per_type == (
        TypeScores("LOC", 1.0, 1.0, 1.0, gold=1, predicted=1, correct=1),
        TypeScores("PER", 0.0, 0.0, 0.0, gold=1, predicted=1, correct=0),
    )


def test_iob1_adjacent_entities_of_one_type() -> None:
    # gold I-PER B-PER: two PER [0,1) [1,2); LOC [3,5).
    # predicted I-PER I-PER: one PER [0,2); I-LOC B-LOC: LOC [3,4) [4,5).
    # No predicted chunk matches: 0 correct of 3 predicted of 3 gold; tags right: 0, 2, 3.
    gold = [["I-PER", "B-PER", "O", "I-LOC", "I-LOC"]]
    predicted = [["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]]
    report = entity_report(gold, predicted)
    assert counts(report) == (0, 3, 3)
    assert report.counts.correct_tags == 3
    assert (report.precision, report.recall, report.f1) == (0.0, 0.0, 0.0)
    # and the other way round each of the three is found
    assert counts(entity_report(gold, gold)) == (3, 3, 3)


def test_iob1_i_after_o_starts_a_chunk() -> None:
    # IOB1 gold I-ORG I-ORG O I-PER = ORG [0,2), PER [3,4); IOB2 prediction of the same
    # entities: both correct (2 of 2 of 2), though only tokens 1 and 2 carry the same tag.
    report = entity_report([["I-ORG", "I-ORG", "O", "I-PER"]], [["B-ORG", "I-ORG", "O", "B-PER"]])
    assert counts(report) == (2, 2, 2)
    assert report.counts.correct_tags == 2 and report.accuracy == 0.5


def test_stray_i_tags_open_chunks() -> None:
    # predicted "O I-ORG I-ORG" in IOB2 is malformed; conlleval reads ORG [1,3) anyway, the
    # gold chunk: 1 correct of 1 of 1. A stray I-LOC after B-ORG is a type change: a new chunk
    # LOC [2,3) (wrong), and ORG [1,2) is cut short: 0 of 2 predicted of 1 gold.
    gold = [["O", "B-ORG", "I-ORG"]]
    assert counts(entity_report(gold, [["O", "I-ORG", "I-ORG"]])) == (1, 1, 1)
    assert counts(entity_report(gold, [["O", "B-ORG", "I-LOC"]])) == (0, 2, 1)


def test_type_change_inside_i_tags_ends_the_chunk() -> None:
    # gold I-PER I-PER I-LOC (IOB1) = PER [0,2), LOC [2,3); predicted I-PER I-LOC I-LOC =
    # PER [0,1), LOC [1,3): 0 correct of 2 of 2; per type PER 0/1 of 1, LOC 0/1 of 1.
    report = entity_report([["I-PER", "I-PER", "I-LOC"]], [["I-PER", "I-LOC", "I-LOC"]])
    assert counts(report) == (0, 2, 2)
    assert [(t.type, t.gold, t.predicted, t.correct) for t in report.per_type] == [
        ("LOC", 1, 1, 0),
        ("PER", 1, 1, 0),
    ]


def test_same_span_wrong_type_is_wrong() -> None:
    # PER [0,2) against LOC [0,2): 0 of 1 of 1; per type LOC predicted 1 gold 0, PER the reverse.
    report = entity_report([["B-PER", "I-PER"]], [["B-LOC", "I-LOC"]])
    assert counts(report) == (0, 1, 1)
    assert [(t.type, t.gold, t.predicted) for t in report.per_type] == [
        ("LOC", 0, 1),
        ("PER", 1, 0),
    ]


def test_entity_at_sentence_end_and_boundaries() -> None:
    # Entities end at the sentence end; a boundary ends any open chunk, so I-PER opening the
    # next sentence is a new chunk: gold PER [1,2) in sentence 0 and PER [0,1) in sentence 1.
    gold = [["O", "B-PER"], ["I-PER", "O"]]
    assert counts(entity_report(gold, gold)) == (2, 2, 2)
    # across a boundary B-PER | I-PER and B-PER | B-PER are the same two chunks: 2 of 2 of 2;
    # within one sentence B-PER I-PER (one chunk) against B-PER B-PER (two): 0 of 2 of 1.
    assert counts(entity_report([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]])) == (2, 2, 2)
    assert counts(entity_report([["B-PER", "I-PER"]], [["B-PER", "B-PER"]])) == (0, 2, 1)


def test_bioes() -> None:
    # gold S-PER B-LOC E-LOC O = PER [0,1), LOC [1,3); predicted S-PER B-LOC I-LOC O is
    # malformed (no E-), but conlleval still reads LOC [1,3): 2 correct of 2 of 2, tags 3 of 4.
    report = entity_report([["S-PER", "B-LOC", "E-LOC", "O"]], [["S-PER", "B-LOC", "I-LOC", "O"]])
    assert counts(report) == (2, 2, 2) and report.accuracy == 0.75
    # gold PER [0,2) PER [2,3) against predicted PER [0,3): 0 of 1 of 2
    assert counts(entity_report([["B-PER", "E-PER", "S-PER"]], [["B-PER", "I-PER", "E-PER"]])) == (
        0,
        1,
        2,
    )
    # S-PER S-PER is two chunks, E-PER B-PER ends one and starts one: 2 of 2 of 2
    assert counts(entity_report([["S-PER", "S-PER"]], [["E-PER", "B-PER"]])) == (2, 2, 2)


def test_ioe_and_bracket_representations() -> None:
    # conlleval also reads IOE (E- closes a chunk) and [ ] . (chunks of length 1 for [ and ]).
    # gold I-NP E-NP E-NP = NP [0,2) NP [2,3); predicted I-NP I-NP E-NP = NP [0,3): 0 of 1 of 2.
    assert counts(entity_report([["I-NP", "E-NP", "E-NP"]], [["I-NP", "I-NP", "E-NP"]])) == (
        0,
        1,
        2,
    )
    # gold [-NP [-NP = NP [0,1) NP [1,2); predicted [-NP .-NP: "." opens nothing, NP [0,1)
    # ends at the next token: 1 correct of 1 of 2.
    assert counts(entity_report([["[-NP", "[-NP"]], [["[-NP", ".-NP"]])) == (1, 1, 2)


def test_empty_predictions_score_zero_not_nan() -> None:
    # 0 correct of 0 predicted of 1 gold: precision 0/0 is printed 0 by conlleval
    report = entity_report([["B-PER", "O"]], [["O", "O"]])
    assert counts(report) == (0, 0, 1)
    assert (report.precision, report.recall, report.f1, report.accuracy) == (0.0, 0.0, 0.0, 0.5)
    assert report.per_type == (TypeScores("PER", 0.0, 0.0, 0.0, gold=1, predicted=0, correct=0),)
    no_entities = entity_report([["O", "O"]], [["O", "O"]])
    assert (no_entities.f1, no_entities.accuracy, no_entities.per_type) == (0.0, 1.0, ())
    nothing = entity_report([], [])
    assert nothing.counts == EntityCounts(0, 0, 0, 0, 0) and nothing.accuracy == 0.0


def test_types_may_hold_hyphens() -> None:
    report = entity_report([["B-A-B", "I-A-B"]], [["B-A-B", "I-A-B"]])
    assert [t.type for t in report.per_type] == ["A-B"] and report.f1 == 1.0


# --- the table --------------------------------------------------------------------------------


def test_table_prints_conllevals_lines() -> None:
    # gold: LOC [0,1) [3,4) [5,6), PER [1,3); predicted: LOC [0,1) [3,4), ORG [5,6), PER [1,2)
    # [2,3). Correct: LOC 2. Overall 2 of 5 predicted of 4 gold: P 40, R 50, FB1 44.44.
    # LOC P 100 R 66.67 FB1 80; ORG P 0 (1 predicted, no gold); PER P 0 (2 predicted) R 0.
    # Tags right: tokens 0, 1, 3, 4 of 6 = 66.67%.
    gold = [["B-LOC", "B-PER", "I-PER", "B-LOC", "O", "B-LOC"]]
    predicted = [["B-LOC", "B-PER", "B-PER", "B-LOC", "O", "B-ORG"]]
    assert entity_report(gold, predicted).table() == (
        "processed 6 tokens with 4 phrases; found: 5 phrases; correct: 2.\n"
        "accuracy:  66.67%; precision:  40.00%; recall:  50.00%; FB1:  44.44\n"
        "              LOC: precision: 100.00%; recall:  66.67%; FB1:  80.00  2\n"
        "              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
        "              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  2"
    )


def test_table_without_tokens_has_no_accuracy_line() -> None:
    assert entity_report([], []).table() == (
        "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0."
    )


# --- errors -----------------------------------------------------------------------------------


def test_sentence_counts_must_match() -> None:
    with pytest.raises(ValueError, match=r"2 gold sentences but 1 predicted .*sentence 1"):
        entity_report([["O"], ["O"]], [["O"]])


def test_sentence_lengths_must_match() -> None:
    with pytest.raises(ValueError, match=r"^entity_report: sentence 1 has 2 gold tags but 1"):
        entity_report([["O"], ["B-PER", "O"]], [["O"], ["B-PER"]])


def test_a_string_is_not_a_sentence() -> None:
    with pytest.raises(ValueError, match="predicted sentence 0 is the str 'OO'"):
        entity_report([["O", "O"]], ["OO"])


# --- seqeval as an oracle ---------------------------------------------------------------------


def seqeval_scores(gold: Sentences, predicted: Sentences) -> dict[str, float]:
    """seqeval's default (conlleval-compatible) mode, every argument left at its default."""
    metrics = pytest.importorskip("seqeval.metrics")
    scores = {
        "precision": metrics.precision_score(gold, predicted),
        "recall": metrics.recall_score(gold, predicted),
        "f1": metrics.f1_score(gold, predicted),
        "accuracy": metrics.accuracy_score(gold, predicted),
    }
    for name, row in metrics.classification_report(gold, predicted, output_dict=True).items():
        if not name.endswith(" avg"):
            for key in ("precision", "recall", "f1-score", "support"):
                scores[f"{name}/{key}"] = float(row[key])
    return scores


def our_scores(gold: Sentences, predicted: Sentences) -> dict[str, float]:
    report = entity_report(gold, predicted)
    scores = {
        "precision": report.precision,
        "recall": report.recall,
        "f1": report.f1,
        "accuracy": report.accuracy,
    }
    for t in report.per_type:
        values = (t.precision, t.recall, t.f1, t.gold)
        for key, value in zip(("precision", "recall", "f1-score", "support"), values, strict=True):
            scores[f"{t.type}/{key}"] = float(value)
    return scores


def assert_agree(gold: Sentences, predicted: Sentences) -> None:
    expected, got = seqeval_scores(gold, predicted), our_scores(gold, predicted)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), (gold, predicted)


AGREE = {
    "iob2": (
        [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "I-MISC"]],
        [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "B-MISC"]],
    ),
    "iob2-malformed": (
        [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG"]],
        [["I-PER", "I-PER", "I-LOC", "B-LOC"], ["I-ORG", "O", "I-ORG"]],
    ),
    "iob1": (
        [["I-PER", "B-PER", "O", "I-LOC", "I-LOC"], ["I-ORG", "I-MISC"]],
        [["I-PER", "I-PER", "O", "I-LOC", "B-LOC"], ["I-ORG", "B-MISC"]],
    ),
    "bioes": (
        [["S-PER", "B-LOC", "E-LOC", "O"], ["B-ORG", "I-ORG", "E-ORG", "S-ORG"]],
        [["S-PER", "B-LOC", "I-LOC", "O"], ["B-ORG", "E-ORG", "S-ORG", "S-ORG"]],
    ),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # seqeval warns on undefined scores
@pytest.mark.parametrize("case", sorted(AGREE))
def test_agrees_with_seqeval_on_hand_cases(case: str) -> None:
    assert_agree(*AGREE[case])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "tags",
    [
        ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],  # IOB1 and IOB2, well formed or not
        ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC"],  # BIOES
        ["O", "B-A-B", "I-A-B", "I-A"],  # types holding hyphens
    ],
    ids=["iob", "bioes", "hyphens"],
)
def test_agrees_with_seqeval_on_random_tags(tags: list[str]) -> None:
    rng = random.Random(1234)
    for _ in range(200):
        gold = [[rng.choice(tags) for _ in range(rng.randint(1, 8))] for _ in range(3)]
        predicted = [[rng.choice(tags) for _ in sentence] for sentence in gold]
        if any(tag != "O" for sentence in gold + predicted for tag in sentence):
            assert_agree(gold, predicted)


@needs_data
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_agrees_with_seqeval_on_conll2003_dev_against_a_corrupted_copy() -> None:
    gold = read_conll_tags(Path(os.environ["RNNKIT_DATA"]) / "conll2003" / "eng.testa")
    perfect = entity_report(gold, gold)
    assert perfect.counts == EntityCounts(51362, 51362, 5942, 5942, 5942)  # as SOURCE.md counts
    assert perfect.f1 == perfect.accuracy == 1.0
    tags = sorted({tag for sentence in gold for tag in sentence})
    rng = random.Random(2003)
    predicted = [[rng.choice(tags) if rng.random() < 0.1 else t for t in s] for s in gold]
    report = entity_report(gold, predicted)
    assert 0.5 < report.f1 < 0.9 and 0.85 < report.accuracy < 0.95
    assert_agree(gold, predicted)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_where_seqeval_and_conlleval_differ() -> None:
    """They split tags differently and seqeval lacks conlleval's bracket lines; these pins say
    where, so a change on either side shows up."""
    metrics = pytest.importorskip("seqeval.metrics.sequence_labeling")

    # 1. A tag without a hyphen: conlleval takes it whole as a prefix with type "", which opens
    #    no chunk after O; seqeval takes its first letter as the prefix and the rest as the type.
    assert entity_report([["PER"]], [["PER"]]).counts.gold == 0
    assert metrics.get_entities(["PER"]) == [("ER", 0, 0)]

    # 2. A prefix without a type: conlleval's type is "", seqeval's is "_" (same chunks).
    assert [t.type for t in entity_report([["B", "I"]], [["B", "I"]]).per_type] == [""]
    assert metrics.get_entities(["B", "I"]) == [("_", 0, 1)]

    # 3. conlleval's "[" and "]" chunks have length 1 ("corrected 1998-12-22"); seqeval has no
    #    such lines and reads "[-NP [-NP" as one chunk.
    assert counts(entity_report([["[-NP", "[-NP"]], [["[-NP", "[-NP"]])) == (2, 2, 2)
    assert metrics.get_entities(["[-NP", "[-NP"]) == [("NP", 0, 1)]

    # 4. Token accuracy: conlleval compares (prefix, type), so "B" and "B-" match; seqeval
    #    compares the strings.
    assert entity_report([["B"]], [["B-"]]).accuracy == 1.0
    assert metrics.accuracy_score([["B"]], [["B-"]]) == 0.0
