"""Entity-level precision, recall and F1 counted exactly as CoNLL's ``conlleval`` counts them.

A port of the Perl script of the CoNLL-2000 shared task (version 2004-01-26), not a call to it.
Chunks open and close by conlleval's ``startOfChunk`` / ``endOfChunk`` (in ``rnnkit.text.tags``,
with the lines its BIOES variant adds), so any tags are scored, malformed ones included. A
predicted chunk is correct when a gold chunk starts and ends at the same tokens with the same
type. A sentence ends with conlleval's boundary line (``O O``), which closes any open B/I/E/S
chunk. Accuracy is over tokens, boundaries excluded.

>>> report = entity_report([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-LOC"]])
>>> report.counts
EntityCounts(tokens=4, correct_tags=3, gold=2, predicted=2, correct=1)
>>> print(report.table())
processed 4 tokens with 2 phrases; found: 2 phrases; correct: 1.
accuracy:  75.00%; precision:  50.00%; recall:  50.00%; FB1:  50.00
              LOC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1
              PER: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from rnnkit.text.tags import end_of_chunk, start_of_chunk


class TypeScores(NamedTuple):
    """Scores of one entity type; precision, recall, f1 are fractions (0 where undefined)."""

    type: str
    precision: float
    recall: float
    f1: float
    gold: int  # chunks of this type in the gold tags
    predicted: int  # chunks of this type in the predicted tags
    correct: int  # predicted chunks that match a gold chunk exactly


class EntityCounts(NamedTuple):
    """conlleval's overall counts."""

    tokens: int  # tokens processed (sentence boundaries not counted)
    correct_tags: int  # tokens whose gold and predicted tags match
    gold: int  # chunks in the gold tags ("phrases")
    predicted: int  # chunks in the predicted tags ("found")
    correct: int  # predicted chunks that match a gold chunk exactly


@dataclass(frozen=True)
class EntityReport:
    """What conlleval reports, as fractions in [0, 1] (0 where conlleval prints 0)."""

    precision: float
    recall: float
    f1: float
    accuracy: float  # tokens whose whole tag matches, over all tokens
    per_type: tuple[TypeScores, ...]  # sorted by type, as conlleval prints them
    counts: EntityCounts

    def table(self) -> str:
        """conlleval's output, line for line: percent with 2 decimals, the same arithmetic.

        (One Perl quirk is left out: a type-less chunk, type ``""``, found in both gold and
        predicted tags gets its line printed twice there, once here.)
        """
        c = self.counts
        lines = [
            f"processed {c.tokens} tokens with {c.gold} phrases; "
            f"found: {c.predicted} phrases; correct: {c.correct}."
        ]
        if c.tokens > 0:
            precision, recall, f1 = _scores(c.correct, c.gold, c.predicted, scale=100.0)
            accuracy = 100 * c.correct_tags / c.tokens
            lines.append(
                f"accuracy: {accuracy:6.2f}%; precision: {precision:6.2f}%; "
                f"recall: {recall:6.2f}%; FB1: {f1:6.2f}"
            )
        for t in self.per_type:
            precision, recall, f1 = _scores(t.correct, t.gold, t.predicted, scale=100.0)
            lines.append(
                f"{t.type:>17}: precision: {precision:6.2f}%; recall: {recall:6.2f}%; "
                f"FB1: {f1:6.2f}  {t.predicted}"
            )
        return "\n".join(lines)


def entity_report(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> EntityReport:
    """Score ``predicted`` against ``gold``, both lists of sentences of tags, as conlleval does.

    Raises ValueError naming the sentence where the two differ in length, or if their numbers of
    sentences differ.
    """
    correct_chunk: Counter[str] = Counter()  # conlleval's %correctChunk, %foundCorrect, ...
    found_correct: Counter[str] = Counter()
    found_guessed: Counter[str] = Counter()
    correct_tags = token_counter = 0
    in_correct = False
    last_correct, last_correct_type = "O", ""
    last_guessed, last_guessed_type = "O", ""
    for boundary, (correct, correct_type), (guessed, guessed_type) in _lines(gold, predicted):
        if boundary:  # "1999-06-26 sentence breaks should always be counted as out of chunk"
            guessed = "O"
        ends_correct = end_of_chunk(last_correct, correct, last_correct_type, correct_type)
        ends_guessed = end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if in_correct:
            if ends_correct and ends_guessed and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunk[last_correct_type] += 1
            elif ends_correct != ends_guessed or guessed_type != correct_type:
                in_correct = False
        starts_correct = start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        starts_guessed = start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if starts_correct and starts_guessed and guessed_type == correct_type:
            in_correct = True
        if starts_correct:
            found_correct[correct_type] += 1
        if starts_guessed:
            found_guessed[guessed_type] += 1
        if not boundary:
            if correct == guessed and guessed_type == correct_type:
                correct_tags += 1
            token_counter += 1
        last_correct, last_correct_type = correct, correct_type
        last_guessed, last_guessed_type = guessed, guessed_type
    if in_correct:
        correct_chunk[last_correct_type] += 1

    counts = EntityCounts(
        tokens=token_counter,
        correct_tags=correct_tags,
        gold=sum(found_correct.values()),
        predicted=sum(found_guessed.values()),
        correct=sum(correct_chunk.values()),
    )
    per_type = tuple(
        TypeScores(
            kind,
            *_scores(correct_chunk[kind], found_correct[kind], found_guessed[kind]),
            gold=found_correct[kind],
            predicted=found_guessed[kind],
            correct=correct_chunk[kind],
        )
        for kind in sorted(found_correct.keys() | found_guessed.keys())
    )
    return EntityReport(
        *_scores(counts.correct, counts.gold, counts.predicted),
        accuracy=correct_tags / token_counter if token_counter else 0.0,
        per_type=per_type,
        counts=counts,
    )


def _scores(
    correct: int, gold: int, predicted: int, *, scale: float = 1.0
) -> tuple[float, float, float]:
    """Precision, recall, FB1 in conlleval's arithmetic (``scale`` 100 gives its percents)."""
    precision = scale * correct / predicted if predicted > 0 else 0.0
    recall = scale * correct / gold if gold > 0 else 0.0
    total = precision + recall
    f1 = 2 * precision * recall / total if total > 0 else 0.0
    return precision, recall, f1


def _lines(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> Iterator[tuple[bool, tuple[str, str], tuple[str, str]]]:
    """conlleval's input lines: ``(boundary, gold (prefix, type), guessed (prefix, type))``
    per token, and a boundary ``O O`` line after each sentence."""
    for name, sentences in (("gold", gold), ("predicted", predicted)):
        if isinstance(sentences, str):
            raise ValueError(f"entity_report: {name} is a str, not a sequence of sentences")
    if len(gold) != len(predicted):
        raise ValueError(
            f"entity_report: {len(gold)} gold sentences but {len(predicted)} predicted sentences "
            f"(sentence {min(len(gold), len(predicted))} has no counterpart)"
        )
    for index, (gold_tags, guessed_tags) in enumerate(zip(gold, predicted, strict=True)):
        for name, tags in (("gold", gold_tags), ("predicted", guessed_tags)):
            if isinstance(tags, str):
                raise ValueError(
                    f"entity_report: {name} sentence {index} is the str {tags!r}, "
                    "not a sequence of tags"
                )
        if len(gold_tags) != len(guessed_tags):
            raise ValueError(
                f"entity_report: sentence {index} has {len(gold_tags)} gold tags but "
                f"{len(guessed_tags)} predicted tags"
            )
        for correct, guessed in zip(gold_tags, guessed_tags, strict=True):
            yield False, _split(correct), _split(guessed)
        yield True, ("O", ""), ("O", "")


def _split(tag: str) -> tuple[str, str]:
    """conlleval's ``/^([^-]*)-(.*)$/``: prefix before the first hyphen, type after it (types
    may hold hyphens); a tag without a hyphen is all prefix, with type ``""``."""
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if dash else (tag, "")
