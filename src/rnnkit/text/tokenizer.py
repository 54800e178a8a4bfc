"""``Tokenizer``: Keras' ``tf.keras.preprocessing.text.Tokenizer``, same arguments and results.

Index 0 is reserved (padding); words are numbered from 1 by descending count, ties by first
occurrence; ``oov_token``, when given, takes index 1.

>>> tok = Tokenizer()
>>> tok.fit_on_texts(["The cat sat on the mat.", "The dog ate my homework."])
>>> tok.word_index["the"], tok.word_index["homework"]
(1, 9)
>>> tok.texts_to_sequences(["the dog sat on a mat"])
[[1, 6, 3, 4, 5]]
>>> tok.sequences_to_texts([[1, 6, 3]])
['the dog sat']
>>> tok.texts_to_matrix(["the cat, the dog"], mode="count")[0, :7]
array([0., 2., 1., 0., 0., 0., 1.])
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rnnkit._io import atomic_write_text

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

Text = str | Sequence[str]  # a string, or a list of tokens already split

MATRIX_MODES = ("binary", "count", "tfidf", "freq")

# The config fields from_json needs (Keras also writes index_word: rebuilt from word_index).
OPTIONS = ("num_words", "filters", "lower", "split", "char_level", "oov_token")
TABLES = ("word_counts", "word_docs", "index_docs", "word_index")


def text_to_word_sequence(
    text: str, *, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " "
) -> list[str]:
    """Keras' word splitter: lowercase, replace each filter character by ``split``, split.

    >>> text_to_word_sequence("Hello, World!\\tBye")
    ['hello', 'world', 'bye']
    """
    if lower:
        text = text.lower()
    table: dict[str, str | int | None] = dict.fromkeys(filters, split)
    text = text.translate(str.maketrans(table))
    return [w for w in text.split(split) if w]


def _table(source: str, name: str, raw: object) -> dict[str, int]:
    """One of the config's tables: a JSON string of an object mapping words (or, for
    index_docs, indices) to integers."""
    keys = "indices" if name == "index_docs" else "words"
    try:
        table = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        table = None
    if (
        not isinstance(table, dict)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in table.values())
        or (name == "index_docs" and not all(k.isascii() and k.isdigit() for k in table))
    ):
        raise ValueError(
            f"{source}: field {name!r} must be a JSON string mapping {keys} to integers"
        )
    return table


class Tokenizer:
    """Text → integer sequences, with Keras' semantics.

    Args:
        num_words: keep only indices < ``num_words`` when converting (the most frequent
            ``num_words - 1`` words); ``word_index`` itself keeps every word. None: keep all.
        filters: characters replaced by ``split`` before splitting (not used with char_level).
        lower: lowercase the texts.
        split: the word separator.
        char_level: every character is a token (spaces and punctuation included).
        oov_token: if given, stored at index 1 and used for unknown or cut-off words, which
            are otherwise dropped.
        analyzer: a function str → tokens used instead of ``filters`` / ``lower`` / ``split``
            for string texts (not char_level), as in tf.keras; it is not saved by
            :meth:`to_json` (Keras does not save it either).
        document_count: the starting document count (what Keras' config carries).

    Attributes (after :meth:`fit_on_texts`):
        word_counts: OrderedDict word → count, in first-occurrence order.
        word_docs: defaultdict(int) word → number of texts containing it.
        index_docs: defaultdict(int) index → number of texts (or sequences, from
            :meth:`fit_on_sequences`) containing it: what ``tfidf`` reads.
        document_count: int, texts and sequences fitted on.
        word_index: dict word → index (from 1). index_word: its inverse.
    """

    def __init__(
        self,
        num_words: int | None = None,
        *,
        filters: str = DEFAULT_FILTERS,
        lower: bool = True,
        split: str = " ",
        char_level: bool = False,
        oov_token: str | None = None,
        analyzer: Callable[[str], Iterable[str]] | None = None,
        document_count: int = 0,
    ) -> None:
        if num_words is not None and (
            isinstance(num_words, bool) or not isinstance(num_words, int) or num_words < 1
        ):
            raise ValueError(
                f"Tokenizer: num_words must be None or an integer >= 1, got {num_words!r}"
            )
        if not isinstance(split, str) or not split:
            raise ValueError(f"Tokenizer: split must be a non-empty str, got {split!r}")
        if analyzer is not None and not callable(analyzer):
            raise ValueError(f"Tokenizer: analyzer must be None or a function, got {analyzer!r}")
        if (
            isinstance(document_count, bool)
            or not isinstance(document_count, int)
            or document_count < 0
        ):
            raise ValueError(
                f"Tokenizer: document_count must be an integer >= 0, got {document_count!r}"
            )
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.analyzer = analyzer
        self.word_counts: OrderedDict[str, int] = OrderedDict()
        self.word_docs: defaultdict[str, int] = defaultdict(int)
        self.index_docs: defaultdict[int, int] = defaultdict(int)
        self.document_count = document_count
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def __repr__(self) -> str:
        return (
            f"Tokenizer(num_words={self.num_words!r}, words={len(self.word_counts)}, "
            f"char_level={self.char_level}, oov_token={self.oov_token!r})"
        )

    # ---- splitting -----------------------------------------------------------------------------

    def _tokens(self, text: Text) -> list[str]:
        """One text → its tokens, as Keras splits it (lists are taken as already split)."""
        if not isinstance(text, str):
            return [t.lower() for t in text] if self.lower else list(text)
        if self.char_level:
            return list(text.lower() if self.lower else text)
        if self.analyzer is not None:
            return list(self.analyzer(text))
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower, split=self.split)

    @staticmethod
    def _texts(owner: str, texts: Iterable[Text]) -> Iterator[Text]:
        if isinstance(texts, str):
            raise ValueError(
                f"Tokenizer.{owner}: texts must be a list of strings, got a single str; "
                "wrap it in a list: [text]"
            )
        for i, text in enumerate(texts):
            if not isinstance(text, str | list | tuple):
                raise ValueError(
                    f"Tokenizer.{owner}: texts[{i}] must be a str or a list of tokens, "
                    f"got {type(text).__name__}"
                )
            yield text

    @staticmethod
    def _index_rows(owner: str, sequences: Iterable[Iterable[int]]) -> list[NDArray[np.int64]]:
        """Index sequences → int64 arrays, checked: flat, integer, not negative."""
        if isinstance(sequences, str | bytes) or not isinstance(sequences, Iterable):
            raise ValueError(
                f"Tokenizer.{owner}: sequences must be a list of index sequences, "
                f"got {type(sequences).__name__}"
            )
        rows = []
        for k, seq in enumerate(sequences):
            try:
                row = None if isinstance(seq, str | bytes) else np.asarray(seq)
            except (ValueError, TypeError):  # ragged: [1, [2, 3]]
                row = None
            if row is None or row.ndim != 1:
                raise ValueError(
                    f"Tokenizer.{owner}: sequences[{k}] must be a flat sequence of word "
                    f"indices, got {type(seq).__name__}"
                    + ("" if row is None else f" of shape {row.shape}")
                )
            if row.size == 0:
                row = np.zeros(0, dtype=np.int64)
            elif row.dtype.kind not in "iu":
                raise ValueError(
                    f"Tokenizer.{owner}: sequences[{k}] must hold integer word indices, "
                    f"got {row.dtype}"
                )
            elif row.min() < 0:
                raise ValueError(
                    f"Tokenizer.{owner}: sequences[{k}] holds the negative index {row.min()}"
                )
            rows.append(row.astype(np.int64, copy=False))
        return rows

    def _check_fitted(self, owner: str) -> None:
        if self.document_count == 0 and not self.word_index:
            raise RuntimeError(
                f"Tokenizer.{owner}: the tokenizer is not fitted; call fit_on_texts(texts) first"
            )

    # ---- fitting and converting ------------------------------------------------------------------

    def fit_on_texts(self, texts: Iterable[Text]) -> None:
        """Count words in ``texts`` (a list or generator of strings or token lists), re-index.

        Calling it again adds to the counts, as in Keras.
        """
        for text in self._texts("fit_on_texts", texts):
            self.document_count += 1
            tokens = self._tokens(text)
            for w in tokens:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in dict.fromkeys(tokens):
                self.word_docs[w] += 1
        # sorted() is stable: equal counts keep first-occurrence order.
        ranked = sorted(self.word_counts, key=lambda w: -self.word_counts[w])
        head = [] if self.oov_token is None else [self.oov_token]
        # Keras lists the oov_token a second time if it also occurs in the texts (and the
        # later index wins); here it stays at index 1.
        vocab = head + [w for w in ranked if w != self.oov_token]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        # As Keras: recomputed from word_docs (entries from fit_on_sequences at indices that
        # are no word's stay).
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count documents from index sequences (for :meth:`sequences_to_matrix`'s ``tfidf``
        when :meth:`fit_on_texts` was never called): ``document_count`` grows by the number
        of sequences, ``index_docs[i]`` by the number of sequences containing ``i``.
        ``word_index`` is not touched. Checked first, so a bad sequence changes nothing."""
        rows = self._index_rows("fit_on_sequences", sequences)
        self.document_count += len(rows)
        for row in rows:
            for i in np.unique(row).tolist():
                self.index_docs[i] += 1

    def _encode(self, owner: str, texts: Iterable[Text]) -> Iterator[list[int]]:
        self._check_fitted(owner)
        oov = None if self.oov_token is None else self.word_index.get(self.oov_token)
        for text in self._texts(owner, texts):
            seq = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and (self.num_words is None or i < self.num_words):
                    seq.append(i)
                elif oov is not None:
                    seq.append(oov)
            yield seq

    def texts_to_sequences(self, texts: Iterable[Text]) -> list[list[int]]:
        """Each text → its word indices; unknown words (and indices >= num_words) become the
        oov index when ``oov_token`` is set, otherwise they are dropped."""
        return list(self._encode("texts_to_sequences", texts))

    def texts_to_sequences_generator(self, texts: Iterable[Text]) -> Iterator[list[int]]:
        """:meth:`texts_to_sequences`, one text at a time."""
        return self._encode("texts_to_sequences_generator", texts)

    def _decode(self, owner: str, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        self._check_fitted(owner)
        for seq in sequences:
            words = []
            for i in seq:
                w = self.index_word.get(int(i))
                if w is not None and (self.num_words is None or int(i) < self.num_words):
                    words.append(w)
                elif self.oov_token is not None:
                    words.append(self.oov_token)
            yield " ".join(words)

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each index sequence → its words joined by spaces (Keras joins by ' ' even for
        char_level); unknown or cut-off indices become ``oov_token`` or are dropped."""
        return list(self._decode("sequences_to_texts", sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[Iterable[int]]) -> Iterator[str]:
        """:meth:`sequences_to_texts`, one sequence at a time."""
        return self._decode("sequences_to_texts_generator", sequences)

    # ---- matrices ------------------------------------------------------------------------------

    def _matrix_width(self, owner: str, mode: str) -> int:
        """The number of columns (Keras' checks, each one ValueError, the mode checked first)."""
        if mode not in MATRIX_MODES:
            raise ValueError(
                f"Tokenizer.{owner}: mode must be one of "
                f"{', '.join(map(repr, MATRIX_MODES))}, got {mode!r}"
            )
        if self.num_words is not None:
            width = self.num_words
        elif self.word_index:
            width = len(self.word_index) + 1
        else:
            raise ValueError(
                f"Tokenizer.{owner}: the matrix width is unknown: give Tokenizer(num_words=...) "
                "or call fit_on_texts(texts) first"
            )
        if mode == "tfidf" and not self.document_count:
            raise ValueError(
                f"Tokenizer.{owner}: mode 'tfidf' needs document counts; call "
                "fit_on_texts(texts) (or fit_on_sequences(sequences)) first"
            )
        return width

    def _matrix(self, rows: list[NDArray[np.int64]], width: int, mode: str) -> NDArray[np.float64]:
        x = np.zeros((len(rows), width))
        idf = None
        if mode == "tfidf":
            docs = np.zeros(width)
            for j, c in self.index_docs.items():
                if 0 <= j < width:
                    docs[j] = c
            idf = np.log(1 + self.document_count / (1 + docs))
        for i, row in enumerate(rows):
            if row.size == 0:
                continue
            cols, counts = np.unique(row[row < width], return_counts=True)
            if mode == "binary":
                x[i, cols] = 1.0
            elif mode == "count":
                x[i, cols] = counts
            elif mode == "freq":
                x[i, cols] = counts / row.size  # Keras divides by the whole length
            else:
                assert idf is not None
                x[i, cols] = (1 + np.log(counts)) * idf[cols]
        return x

    def sequences_to_matrix(
        self, sequences: Iterable[Iterable[int]], mode: str = "binary"
    ) -> NDArray[np.float64]:
        """Index sequences → a float64 matrix (N, W), Keras' ``sequences_to_matrix``.

        ``W`` is ``num_words``, or ``len(word_index) + 1``; indices >= W are ignored (but
        still count in a sequence's length for ``freq``). ``x[i, j]`` for index ``j``
        occurring ``c`` times in sequence ``i`` (of length ``n``):

        - ``binary``: 1;  ``count``: c;  ``freq``: c / n;
        - ``tfidf``: ``(1 + log c) * log(1 + document_count / (1 + index_docs[j]))``.

        Column 0 is no word's index: only a 0 in the input (padding) fills it, as in Keras.
        """
        width = self._matrix_width("sequences_to_matrix", mode)
        rows = self._index_rows("sequences_to_matrix", sequences)
        return self._matrix(rows, width, mode)

    def texts_to_matrix(self, texts: Iterable[Text], mode: str = "binary") -> NDArray[np.float64]:
        """:meth:`texts_to_sequences`, then :meth:`sequences_to_matrix` (column 0 stays 0)."""
        width = self._matrix_width("texts_to_matrix", mode)
        rows = [np.asarray(s, dtype=np.int64) for s in self._encode("texts_to_matrix", texts)]
        return self._matrix(rows, width, mode)

    # ---- files -------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Keras' config layout: options, plus the tables as JSON strings."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **json_kwargs: Any) -> str:
        """The tokenizer as a JSON string, in Keras' format (``tokenizer_from_json`` reads it)."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **json_kwargs)

    @classmethod
    def from_json(cls, json_string: str, *, source: str = "Tokenizer.from_json") -> Tokenizer:
        """Rebuild a tokenizer from :meth:`to_json` output or a Keras tokenizer JSON
        (:func:`tokenizer_from_json` is the same, under Keras' name)."""
        try:
            data = json.loads(json_string)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{source}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
            ) from None
        except TypeError:
            raise ValueError(
                f"{source}: expected a JSON string, got {type(json_string).__name__}"
            ) from None
        config = data.get("config") if isinstance(data, dict) else None
        if not isinstance(config, dict):
            raise ValueError(f"{source}: not a tokenizer config (no 'config' object)")
        for name in (*OPTIONS, "document_count", *TABLES):
            if name not in config:
                raise ValueError(f"{source}: not a tokenizer config (missing field {name!r})")
        tables = {name: _table(source, name, config[name]) for name in TABLES}
        try:
            tok = cls(
                config["num_words"],
                filters=config["filters"],
                lower=config["lower"],
                split=config["split"],
                char_level=config["char_level"],
                oov_token=config["oov_token"],
                document_count=config["document_count"],
            )
        except ValueError as e:  # a bad option value (num_words, document_count, ...)
            raise ValueError(f"{source}: bad tokenizer config ({e})") from None
        tok.word_counts = OrderedDict(tables["word_counts"])  # JSON objects keep their order
        tok.word_docs = defaultdict(int, tables["word_docs"])
        tok.index_docs = defaultdict(int, {int(k): v for k, v in tables["index_docs"].items()})
        tok.word_index = tables["word_index"]
        tok.index_word = {i: w for w, i in tok.word_index.items()}
        return tok

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_json` to ``path`` atomically. Returns the path written."""
        return atomic_write_text(path, self.to_json(ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a file written by :meth:`save` (or Keras' ``to_json``)."""
        source = f"Tokenizer.load: {os.fspath(path)}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"{source}: no such file") from None
        return cls.from_json(text, source=source)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """Keras' ``tokenizer_from_json``: a :class:`Tokenizer` from a :meth:`Tokenizer.to_json`
    string (ours or Keras'); the counts, ``index_docs`` and options come back as they were.

    ValueError (one line) for a string that is not JSON or not a tokenizer config.
    """
    return Tokenizer.from_json(json_string, source="tokenizer_from_json")
