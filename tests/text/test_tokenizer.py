"""Tokenizer: Keras' semantics on written examples (expected values computed by hand from
keras_preprocessing/text.py), JSON round trips, and the errors."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

import rnnkit.text.tokenizer
from rnnkit.text import Tokenizer, text_to_word_sequence

CLASSIC = ["The cat sat on the mat.", "The dog ate my homework."]
CLASSIC_INDEX = {
    "the": 1,
    "cat": 2,
    "sat": 3,
    "on": 4,
    "mat": 5,
    "dog": 6,
    "ate": 7,
    "my": 8,
    "homework": 9,
}


def fitted(texts: list[str], **options: object) -> Tokenizer:
    tok = Tokenizer(**options)  # type: ignore[arg-type]
    tok.fit_on_texts(texts)
    return tok


def test_classic_word_index_counts_and_docs() -> None:
    tok = fitted(CLASSIC)
    assert tok.word_index == CLASSIC_INDEX
    assert list(tok.word_index) == list(CLASSIC_INDEX)  # insertion order = index order
    assert tok.index_word == {i: w for w, i in CLASSIC_INDEX.items()}
    assert tok.word_counts["the"] == 3 and tok.word_counts["mat"] == 1
    assert list(tok.word_counts)[:3] == ["the", "cat", "sat"]  # first-occurrence order
    assert tok.word_docs["the"] == 2 and tok.word_docs["dog"] == 1
    assert tok.document_count == 2
    assert tok.texts_to_sequences(CLASSIC) == [[1, 2, 3, 4, 1, 5], [1, 6, 7, 8, 9]]


def test_ties_keep_first_occurrence_not_alphabetical() -> None:
    tok = fitted(["b a", "a b c", "c"])  # b, a, c: twice each; b is seen first
    assert tok.word_index == {"b": 1, "a": 2, "c": 3}
    tok = fitted(["z y y", "x x x"])  # x=3 > y=2 > z=1
    assert tok.word_index == {"x": 1, "y": 2, "z": 3}


def test_num_words_cuts_conversion_not_word_index() -> None:
    tok = fitted(CLASSIC, num_words=4)  # keeps indices 1, 2, 3
    assert tok.word_index == CLASSIC_INDEX
    assert tok.texts_to_sequences(CLASSIC) == [[1, 2, 3, 1], [1]]
    assert tok.sequences_to_texts([[1, 2, 3, 4, 5]]) == ["the cat sat"]


def test_oov_token_takes_index_1_and_replaces_unknown_and_cut_words() -> None:
    tok = fitted(CLASSIC, oov_token="<OOV>")
    assert tok.word_index == {"<OOV>": 1, **{w: i + 1 for w, i in CLASSIC_INDEX.items()}}
    assert tok.texts_to_sequences(["the bird sat"]) == [[2, 1, 4]]
    cut = fitted(CLASSIC, oov_token="<OOV>", num_words=4)  # keeps <OOV>=1, the=2, cat=3
    assert cut.texts_to_sequences(["the cat sat on the mat"]) == [[2, 3, 1, 1, 2, 1]]
    assert cut.sequences_to_texts([[2, 3, 4, 99]]) == ["the cat <OOV> <OOV>"]


def test_without_oov_unknown_words_and_indices_are_dropped() -> None:
    tok = fitted(CLASSIC)
    assert tok.texts_to_sequences(["the bird sat", "zebra"]) == [[1, 3], []]
    assert tok.sequences_to_texts([[1, 99, 9]]) == ["the homework"]


def test_char_level_keeps_spaces_and_punctuation() -> None:
    tok = fitted(["Ab a."], char_level=True)  # filters do not apply at char level
    assert tok.word_index == {"a": 1, "b": 2, " ": 3, ".": 4}
    assert tok.texts_to_sequences(["ba!"]) == [[2, 1]]
    assert tok.sequences_to_texts([[2, 1]]) == ["b a"]  # Keras joins with a space


def test_filters_lower_and_split() -> None:
    assert text_to_word_sequence("Hello,world!\tBye\n") == ["hello", "world", "bye"]
    assert text_to_word_sequence("It's ok") == ["it's", "ok"]  # ' is not a default filter
    tok = fitted(["The the THE"], lower=False)
    assert tok.word_index == {"The": 1, "the": 2, "THE": 3}
    tok = fitted(["a-b|c d"], filters="-", split="|")
    assert tok.word_index == {"a": 1, "b": 2, "c d": 3}


def test_pretokenized_lists_and_generators() -> None:
    tok = Tokenizer()
    tok.fit_on_texts(t for t in [["New", "York"], ["new", "jersey"]])
    assert tok.word_index == {"new": 1, "york": 2, "jersey": 3}
    assert tok.texts_to_sequences([["York", "New"]]) == [[2, 1]]


def test_fit_again_accumulates() -> None:
    tok = fitted(["a b"])
    tok.fit_on_texts(["b c", "c c"])
    assert tok.word_counts == {"a": 1, "b": 2, "c": 3}
    assert tok.word_index == {"c": 1, "b": 2, "a": 3}
    assert tok.document_count == 3


def test_single_str_is_rejected_naming_texts() -> None:
    tok = Tokenizer()
    with pytest.raises(ValueError, match=r"fit_on_texts: texts must be a list.*single str"):
        tok.fit_on_texts("The cat sat")
    tok.fit_on_texts(CLASSIC)
    with pytest.raises(ValueError, match=r"texts_to_sequences: texts must be a list"):
        tok.texts_to_sequences("the cat")


def test_use_before_fit_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"texts_to_sequences: .*not fitted.*fit_on_texts"):
        Tokenizer().texts_to_sequences(["the cat"])
    with pytest.raises(RuntimeError, match=r"sequences_to_texts: .*not fitted"):
        Tokenizer().sequences_to_texts([[1]])


@pytest.mark.parametrize("num_words", [0, -3, 2.5, True])
def test_bad_num_words(num_words: object) -> None:
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer(num_words)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    tok = fitted(CLASSIC, num_words=5, oov_token="<OOV>", lower=False)
    back = Tokenizer.from_json(tok.to_json())
    for attr in ("word_index", "index_word", "word_counts", "word_docs", "document_count"):
        assert getattr(back, attr) == getattr(tok, attr), attr
    for attr in ("num_words", "oov_token", "lower", "filters", "split", "char_level"):
        assert getattr(back, attr) == getattr(tok, attr), attr
    texts = ["The cat ate the zebra"]
    assert back.texts_to_sequences(texts) == tok.texts_to_sequences(texts)


def test_json_is_keras_layout() -> None:
    # Keras' tokenizer_from_json reads {"class_name", "config"} with tables as JSON strings.
    data = json.loads(fitted(CLASSIC).to_json())
    assert data["class_name"] == "Tokenizer"
    config = data["config"]
    assert json.loads(config["word_index"]) == CLASSIC_INDEX
    assert json.loads(config["index_docs"]) == {"1": 2, **{str(i): 1 for i in range(2, 10)}}
    keras_written = json.dumps(
        {
            "class_name": "Tokenizer",
            "config": {
                **config,
                "word_index": json.dumps({"<OOV>": 1, "hi": 2}),
                "oov_token": "<OOV>",
            },
        }
    )
    assert Tokenizer.from_json(keras_written).texts_to_sequences(["hi there"]) == [[2, 1]]


def test_save_load_atomic(tmp_path: Path) -> None:
    tok = fitted(CLASSIC, oov_token="<OOV>")
    path = tok.save(tmp_path / "sub" / "tokenizer.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokenizer.json"]  # no temp left
    assert Tokenizer.load(path).word_index == tok.word_index


def test_load_malformed_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "tok.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tok\.json: not valid JSON \(line 1"):
        Tokenizer.load(bad)
    bad.write_text('{"config": {"num_words": null}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"tok\.json: not a tokenizer config"):
        Tokenizer.load(bad)


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.text.tokenizer, report=False)
    assert result.attempted > 0 and result.failed == 0
