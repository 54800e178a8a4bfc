"""Tokenizer's matrix API (texts_to_matrix / sequences_to_matrix, every mode), the Keras
counting tables (word_counts, word_docs, index_docs, document_count), fit_on_sequences, the
rest of Keras' surface (generators, analyzer) and tokenizer_from_json, on written examples
whose expected values are worked out by hand in the comments (Keras' keras_preprocessing
text.py semantics)."""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from math import log

import numpy as np
import pytest

from rnnkit.text import Tokenizer, pad_sequences, tokenizer_from_json

# Three documents. Counts: a 2+1+1 = 4, b 1, c 1+2 = 3, d 1 (first seen in the order a b c d).
# Ranked by count, ties by first occurrence: a=1, c=2, b=3, d=4; the matrix has 4 + 1 columns.
# Documents containing each word: a 3, b 1, c 2, d 1.
DOCS = ["a a b", "a c", "a c c d"]
SEQS = [[1, 1, 3], [1, 2], [1, 2, 2, 4]]  # DOCS as indices

# idf_j = log(1 + document_count / (1 + docs_j)), document_count = 3:
IDF_A = log(1 + 3 / (1 + 3))  # log 1.75 = 0.5596
IDF_C = log(1 + 3 / (1 + 2))  # log 2    = 0.6931
IDF_B = log(1 + 3 / (1 + 1))  # log 2.5  = 0.9163
IDF_D = IDF_B
TF2 = 1 + log(2)  # tf of a word seen twice: 1.6931 (tf of a word seen once: 1 + log 1 = 1)

EXPECTED = {
    "binary": [
        [0, 1, 0, 1, 0],  # a, b
        [0, 1, 1, 0, 0],  # a, c
        [0, 1, 1, 0, 1],  # a, c, d
    ],
    "count": [
        [0, 2, 0, 1, 0],
        [0, 1, 1, 0, 0],
        [0, 1, 2, 0, 1],
    ],
    "freq": [  # count / length of the sequence (3, 2, 4)
        [0, 2 / 3, 0, 1 / 3, 0],
        [0, 1 / 2, 1 / 2, 0, 0],
        [0, 1 / 4, 2 / 4, 0, 1 / 4],
    ],
    "tfidf": [
        [0, TF2 * IDF_A, 0, IDF_B, 0],  # 0.9475, 0.9163
        [0, IDF_A, IDF_C, 0, 0],  # 0.5596, 0.6931
        [0, IDF_A, TF2 * IDF_C, 0, IDF_D],  # 0.5596, 1.1736, 0.9163
    ],
}


def fitted(texts: list[str], **options: object) -> Tokenizer:
    tok = Tokenizer(**options)  # type: ignore[arg-type]
    tok.fit_on_texts(texts)
    return tok


def test_counting_tables_have_keras_values_and_types() -> None:
    tok = fitted(DOCS)
    assert tok.word_index == {"a": 1, "c": 2, "b": 3, "d": 4}
    assert tok.texts_to_sequences(DOCS) == SEQS
    assert isinstance(tok.word_counts, OrderedDict)
    assert list(tok.word_counts.items()) == [("a", 4), ("b", 1), ("c", 3), ("d", 1)]
    assert isinstance(tok.word_docs, defaultdict) and tok.word_docs.default_factory is int
    assert dict(tok.word_docs) == {"a": 3, "b": 1, "c": 2, "d": 1}
    assert isinstance(tok.index_docs, defaultdict) and tok.index_docs.default_factory is int
    assert dict(tok.index_docs) == {1: 3, 2: 2, 3: 1, 4: 1}  # word_docs by index
    assert tok.document_count == 3
    assert tok.index_word == {1: "a", 2: "c", 3: "b", 4: "d"}


def test_a_fresh_tokenizer_has_empty_tables() -> None:
    tok = Tokenizer()
    assert (tok.word_counts, tok.word_docs, tok.index_docs) == ({}, {}, {})
    assert (tok.document_count, tok.word_index, tok.index_word) == (0, {}, {})


@pytest.mark.parametrize("mode", ["binary", "count", "freq", "tfidf"])
def test_every_mode_from_texts_and_from_sequences(mode: str) -> None:
    tok = fitted(DOCS)
    from_texts = tok.texts_to_matrix(DOCS, mode=mode)
    assert from_texts.dtype == np.float64 and from_texts.shape == (3, 5)
    np.testing.assert_allclose(from_texts, EXPECTED[mode], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(tok.sequences_to_matrix(SEQS, mode=mode), from_texts)
    assert (from_texts[:, 0] == 0).all()  # index 0 is no word's: its column is never set


def test_default_mode_is_binary() -> None:
    tok = fitted(DOCS)
    np.testing.assert_array_equal(tok.texts_to_matrix(DOCS), EXPECTED["binary"])
    np.testing.assert_array_equal(tok.sequences_to_matrix(SEQS), EXPECTED["binary"])


def test_tfidf_numbers() -> None:
    # The formula's values, written out: row 0 is "a a b".
    x = fitted(DOCS).texts_to_matrix(DOCS, mode="tfidf")
    assert x[0, 1] == pytest.approx(0.9475118935, abs=1e-9)  # (1 + log 2) * log 1.75
    assert x[0, 3] == pytest.approx(0.9162907319, abs=1e-9)  # 1 * log 2.5
    assert x[2, 2] == pytest.approx(1.1736001945, abs=1e-9)  # (1 + log 2) * log 2


def test_num_words_cuts_the_columns() -> None:
    # num_words=3: columns 0..2, so only a (1) and c (2); b (3) and d (4) are ignored.
    tok = fitted(DOCS, num_words=3)
    np.testing.assert_array_equal(
        tok.texts_to_matrix(DOCS, mode="count"), [[0, 2, 0], [0, 1, 1], [0, 1, 2]]
    )
    # idf still reads the full index_docs: a 3 docs, c 2 docs.
    np.testing.assert_allclose(
        tok.texts_to_matrix(DOCS, mode="tfidf"),
        [[0, TF2 * IDF_A, 0], [0, IDF_A, IDF_C], [0, IDF_A, TF2 * IDF_C]],
        rtol=1e-12,
    )
    # num_words wider than the vocabulary: still num_words columns.
    assert fitted(DOCS, num_words=8).texts_to_matrix(DOCS).shape == (3, 8)


def test_freq_divides_by_the_whole_sequence_length() -> None:
    tok = fitted(DOCS, num_words=3)
    # From texts, b and d never reach the sequences: "a a b" -> [1, 1], a = 2/2.
    np.testing.assert_allclose(
        tok.texts_to_matrix(DOCS, mode="freq"), [[0, 1, 0], [0, 1 / 2, 1 / 2], [0, 1 / 3, 2 / 3]]
    )
    # Given [1, 1, 3], Keras ignores index 3 but still divides by 3: a = 2/3.
    np.testing.assert_allclose(
        tok.sequences_to_matrix(SEQS, mode="freq"),
        [[0, 2 / 3, 0], [0, 1 / 2, 1 / 2], [0, 1 / 4, 2 / 4]],
    )
    # Each row of a freq matrix over the full vocabulary sums to 1.
    np.testing.assert_allclose(fitted(DOCS).texts_to_matrix(DOCS, mode="freq").sum(1), 1)


def test_empty_texts_and_sequences_give_zero_rows() -> None:
    tok = fitted(DOCS)
    for mode in ("binary", "count", "freq", "tfidf"):
        x = tok.texts_to_matrix(["", "zebra", "a"], mode=mode)  # zebra is unknown: dropped
        np.testing.assert_array_equal(x[:2], np.zeros((2, 5)))
        assert x[2, 1] > 0
        assert tok.sequences_to_matrix([[]], mode=mode).tolist() == [[0.0] * 5]
    assert tok.sequences_to_matrix([]).shape == (0, 5)


def test_oov_token_gets_its_column() -> None:
    # oov_token takes index 1 (a=2, c=3, b=4, d=5): unknown words count there.
    tok = fitted(DOCS, oov_token="<unk>")
    np.testing.assert_array_equal(
        tok.texts_to_matrix(["a zebra yak"], mode="count"), [[0, 2, 1, 0, 0, 0]]
    )


def test_padding_zeros_count_in_column_0_as_in_keras() -> None:
    # Keras does not skip index 0: padded sequences put their padding in column 0 (and in
    # freq's length). texts_to_matrix never produces a 0, so there column 0 stays 0.
    tok = fitted(DOCS)
    padded = pad_sequences([[1, 3], [2]], maxlen=3)  # [[0, 1, 3], [0, 0, 2]], int32
    np.testing.assert_array_equal(
        tok.sequences_to_matrix(padded, mode="count"), [[1, 1, 0, 1, 0], [2, 0, 1, 0, 0]]
    )
    np.testing.assert_allclose(
        tok.sequences_to_matrix(padded, mode="freq"),
        [[1 / 3, 1 / 3, 0, 1 / 3, 0], [2 / 3, 0, 1 / 3, 0, 0]],
    )


def test_sequences_may_be_arrays_of_any_integer_type() -> None:
    tok = fitted(DOCS)
    rows = [np.array(s, dtype=np.int16) for s in SEQS]
    np.testing.assert_array_equal(tok.sequences_to_matrix(rows, mode="count"), EXPECTED["count"])
    np.testing.assert_array_equal(
        tok.sequences_to_matrix((tuple(s) for s in SEQS), mode="count"), EXPECTED["count"]
    )


def test_fit_on_sequences_counts_documents_and_index_docs() -> None:
    # Two sequences; index 1 occurs in one of them, 2 in both (twice in the first), 3 in one.
    tok = Tokenizer(num_words=4)
    tok.fit_on_sequences([[1, 1, 2], [2, 3]])
    assert tok.document_count == 2
    assert dict(tok.index_docs) == {1: 1, 2: 2, 3: 1}
    assert tok.word_index == {}  # only the document counts
    # idf: 1 -> log(1 + 2/2) = log 2; 2 -> log(1 + 2/3) = log(5/3); 3 -> log 2.
    np.testing.assert_allclose(
        tok.sequences_to_matrix([[1, 1, 2], [3]], mode="tfidf"),
        [[0, TF2 * log(2), log(5 / 3), 0], [0, 0, 0, log(2)]],
        rtol=1e-12,
    )
    tok.fit_on_sequences([[3]])  # accumulates
    assert (tok.document_count, tok.index_docs[3]) == (3, 2)


def test_fit_on_texts_then_sequences_adds_to_both_counts() -> None:
    tok = fitted(DOCS)
    tok.fit_on_sequences([[1, 4], [9]])  # 9 is no word's index: counted all the same
    assert tok.document_count == 5
    assert dict(tok.index_docs) == {1: 4, 2: 2, 3: 1, 4: 2, 9: 1}
    tok.fit_on_texts(["b"])  # re-derives word indices' entries from word_docs; 9 stays
    assert tok.word_index == {"a": 1, "c": 2, "b": 3, "d": 4}  # b: 2, d: 1
    assert dict(tok.index_docs) == {1: 3, 2: 2, 3: 2, 4: 1, 9: 1}
    assert tok.document_count == 6


def test_bad_sequences_change_nothing() -> None:
    tok = Tokenizer(num_words=4)
    with pytest.raises(ValueError, match=r"fit_on_sequences: sequences\[1\] holds the negative"):
        tok.fit_on_sequences([[1], [2, -1]])
    assert (tok.document_count, dict(tok.index_docs)) == (0, {})


@pytest.mark.parametrize(
    ("sequences", "message"),
    [
        ("abc", r"sequences must be a list of index sequences, got str"),
        (5, r"sequences must be a list of index sequences, got int"),
        ([[1], "ab"], r"sequences\[1\] must be a flat sequence of word indices, got str"),
        ([[1], 2], r"sequences\[1\] must be a flat sequence of word indices, got int"),
        ([[[1, 2]]], r"sequences\[0\] must be a flat sequence .* of shape \(1, 2\)"),
        ([[1, [2, 3]]], r"sequences\[0\] must be a flat sequence of word indices, got list$"),
        ([[1.5]], r"sequences\[0\] must hold integer word indices, got float64"),
        ([[1, None]], r"sequences\[0\] must hold integer word indices, got object"),
        ([[0, -2]], r"sequences\[0\] holds the negative index -2"),
    ],
)
def test_bad_sequences_are_one_clear_line(sequences: object, message: str) -> None:
    tok = fitted(DOCS)
    for call in (tok.sequences_to_matrix, tok.fit_on_sequences):
        with pytest.raises(ValueError, match=message) as info:
            call(sequences)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)


def test_matrix_errors_are_one_clear_line() -> None:
    def error(call: object, *args: object, **kwargs: object) -> str:
        with pytest.raises(ValueError) as info:
            call(*args, **kwargs)  # type: ignore[operator]
        text = str(info.value)
        assert "\n" not in text
        return text

    tok = fitted(DOCS)
    for name, call, arg in (
        ("texts_to_matrix", tok.texts_to_matrix, DOCS),
        ("sequences_to_matrix", tok.sequences_to_matrix, SEQS),
    ):
        assert error(call, arg, mode="tf-idf") == (
            f"Tokenizer.{name}: mode must be one of 'binary', 'count', 'tfidf', 'freq', "
            "got 'tf-idf'"
        )
        # Keras raised the unknown mode only when a non-empty row was reached; here always.
        assert "mode must be one of" in error(call, [], mode="bag")
    # No width: num_words is None and nothing fitted (Keras: "Specify a dimension").
    for call in (Tokenizer().texts_to_matrix, Tokenizer().sequences_to_matrix):
        assert "the matrix width is unknown: give Tokenizer(num_words=...)" in error(call, [[1]])
    # tfidf needs document counts; with num_words the width is known but the counts are not.
    message = error(Tokenizer(num_words=5).sequences_to_matrix, [[1]], mode="tfidf")
    assert message == (
        "Tokenizer.sequences_to_matrix: mode 'tfidf' needs document counts; "
        "call fit_on_texts(texts) (or fit_on_sequences(sequences)) first"
    )
    # the other modes work from num_words alone, as in Keras
    np.testing.assert_array_equal(Tokenizer(num_words=3).sequences_to_matrix([[2, 7]]), [[0, 0, 1]])
    # texts_to_matrix on a tokenizer never fitted (but with num_words): the not-fitted error.
    with pytest.raises(RuntimeError, match=r"texts_to_matrix: the tokenizer is not fitted"):
        Tokenizer(num_words=3).texts_to_matrix(["a"])
    with pytest.raises(ValueError, match=r"texts_to_matrix: texts must be a list.*single str"):
        tok.texts_to_matrix("a c")  # type: ignore[arg-type]


def test_generators_match_the_list_methods() -> None:
    tok = fitted(DOCS, num_words=4, oov_token="<unk>")
    gen = tok.texts_to_sequences_generator(iter(DOCS))
    assert next(gen) == [2, 2, 1]  # a=2, b=4 is cut (>= num_words): <unk>=1
    assert [next(gen), *gen] == tok.texts_to_sequences(DOCS)[1:]
    assert list(tok.sequences_to_texts_generator([[2, 3], [9]])) == ["a c", "<unk>"]
    with pytest.raises(RuntimeError, match=r"texts_to_sequences_generator: .*not fitted"):
        next(Tokenizer().texts_to_sequences_generator(["a"]))


def test_sequences_to_texts_as_keras() -> None:
    tok = fitted(DOCS, num_words=3)  # a=1 and c=2 kept
    # joined by one space; 3 (b, cut by num_words), 0 and 99 (no word) are skipped
    assert tok.sequences_to_texts([[1, 3, 2, 0, 99], []]) == ["a c", ""]
    tok = fitted(DOCS, num_words=4, oov_token="<unk>")  # <unk>=1, a=2, c=3 kept
    assert tok.sequences_to_texts([np.array([2, 4, 0, 3])]) == ["a <unk> <unk> c"]


def test_analyzer_replaces_the_splitter() -> None:
    # Keras hands the raw text to the analyzer: no filters, no lowercasing.
    tok = Tokenizer(analyzer=lambda text: text.split("-"))
    tok.fit_on_texts(["A-b-A", "b.c"])
    assert tok.word_index == {"A": 1, "b": 2, "b.c": 3}
    assert tok.texts_to_sequences(["b-A-x"]) == [[2, 1]]
    tok.fit_on_texts([["B"]])  # token lists bypass the analyzer (and are lowercased)
    assert tok.word_counts["b"] == 2
    with pytest.raises(ValueError, match="analyzer must be None or a function"):
        Tokenizer(analyzer="split")  # type: ignore[arg-type]


def test_document_count_argument() -> None:
    assert Tokenizer(document_count=4).document_count == 4  # what Keras' config passes back
    with pytest.raises(ValueError, match="document_count must be an integer >= 0, got -1"):
        Tokenizer(document_count=-1)


# ---- JSON ----------------------------------------------------------------------------------


def test_tokenizer_from_json_round_trips_tables_config_and_matrices() -> None:
    tok = fitted(DOCS, num_words=4, oov_token="<unk>", lower=False)
    tok.fit_on_sequences([[7, 7]])  # an index_docs entry that is no word's, document_count 4
    back = tokenizer_from_json(tok.to_json())
    assert isinstance(back, Tokenizer)
    assert list(back.word_counts.items()) == list(tok.word_counts.items())  # order kept
    assert isinstance(back.word_counts, OrderedDict)
    assert isinstance(back.word_docs, defaultdict) and isinstance(back.index_docs, defaultdict)
    assert dict(back.word_docs) == dict(tok.word_docs)
    # <unk>=1, a=2, c=3, b=4, d=5; 7 from fit_on_sequences
    assert dict(back.index_docs) == dict(tok.index_docs) == {2: 3, 3: 2, 4: 1, 5: 1, 7: 1}
    assert all(isinstance(k, int) for k in back.index_docs)  # JSON's string keys come back int
    assert back.document_count == tok.document_count == 4
    assert back.word_index == tok.word_index and back.index_word == tok.index_word
    assert back.get_config() == tok.get_config()
    for mode in ("binary", "count", "freq", "tfidf"):
        np.testing.assert_array_equal(
            back.texts_to_matrix(DOCS, mode=mode), tok.texts_to_matrix(DOCS, mode=mode)
        )
    back.fit_on_sequences([[7]])  # the tables are live defaultdicts, not plain dicts
    assert back.index_docs[7] == 2
    # Tokenizer.from_json still works, and is the same reader
    assert Tokenizer.from_json(tok.to_json()).get_config() == tok.get_config()


def test_the_oov_index_has_no_document_count() -> None:
    # Keras fills index_docs from word_docs only: <unk> (index 1, never in a text) has no
    # entry, so its tfidf idf is log(1 + 3 / 1) = log 4.
    tok = fitted(DOCS, oov_token="<unk>")
    assert dict(tok.index_docs) == {2: 3, 3: 2, 4: 1, 5: 1}
    x = tok.texts_to_matrix(["zebra"], mode="tfidf")
    np.testing.assert_allclose(x, [[0, log(4), 0, 0, 0, 0]], rtol=1e-12)


def test_tokenizer_from_json_reads_a_keras_written_string() -> None:
    # What Keras' Tokenizer(num_words=3).fit_on_texts(DOCS); to_json() writes (word_docs and
    # index_docs come out in set order there, so not sorted).
    keras_config = {
        "num_words": 3,
        "filters": '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n',
        "lower": True,
        "split": " ",
        "char_level": False,
        "oov_token": None,
        "document_count": 3,
        "word_counts": json.dumps({"a": 4, "b": 1, "c": 3, "d": 1}),
        "word_docs": json.dumps({"b": 1, "a": 3, "c": 2, "d": 1}),
        "index_docs": json.dumps({"3": 1, "1": 3, "2": 2, "4": 1}),
        "index_word": json.dumps({"1": "a", "2": "c", "3": "b", "4": "d"}),
        "word_index": json.dumps({"a": 1, "c": 2, "b": 3, "d": 4}),
    }
    tok = tokenizer_from_json(json.dumps({"class_name": "Tokenizer", "config": keras_config}))
    assert tok.num_words == 3 and tok.document_count == 3
    assert dict(tok.index_docs) == {1: 3, 2: 2, 3: 1, 4: 1}
    np.testing.assert_allclose(
        tok.texts_to_matrix(["a a c"], mode="tfidf"), [[0, TF2 * IDF_A, IDF_C]], rtol=1e-12
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"^tokenizer_from_json: not valid JSON \(line 1, column 2"),
        (
            '{"config": {"num_words": null}}',
            r"^tokenizer_from_json: not a tokenizer config \(missing field 'filters'\)$",
        ),
        ("[1, 2]", r"^tokenizer_from_json: not a tokenizer config \(no 'config' object\)$"),
        ('{"config": 3}', r"^tokenizer_from_json: not a tokenizer config \(no 'config' object"),
    ],
)
def test_tokenizer_from_json_errors_are_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        tokenizer_from_json(text)
    assert "\n" not in str(info.value)


def test_tokenizer_from_json_bad_tables_and_options() -> None:
    good = json.loads(fitted(DOCS).to_json())

    def load_with(**changes: object) -> str:
        data = {"class_name": "Tokenizer", "config": {**good["config"], **changes}}
        with pytest.raises(ValueError) as info:
            tokenizer_from_json(json.dumps(data))
        assert "\n" not in str(info.value)
        return str(info.value)

    assert load_with(index_docs=json.dumps({"\u00b9": 1})) == load_with(  # superscript 1
        index_docs=json.dumps({"a": 1})
    )
    assert load_with(index_docs=json.dumps({"a": 1})) == (
        "tokenizer_from_json: field 'index_docs' must be a JSON string mapping indices to integers"
    )
    words_message = (
        "tokenizer_from_json: field 'word_docs' must be a JSON string mapping words to integers"
    )
    assert load_with(word_docs=json.dumps({"a": "x"})) == words_message
    assert load_with(word_docs={"a": 1}) == words_message  # an object, not a JSON string
    assert load_with(word_docs="{oops") == words_message
    assert load_with(word_docs=json.dumps([1])) == words_message
    config = dict(good["config"])
    del config["index_docs"]
    with pytest.raises(ValueError, match=r"not a tokenizer config \(missing field 'index_docs'\)"):
        tokenizer_from_json(json.dumps({"config": config}))
    assert load_with(num_words=0).startswith(
        "tokenizer_from_json: bad tokenizer config (Tokenizer: num_words must be None or"
    )
    assert "document_count must be an integer >= 0" in load_with(document_count=-2)
