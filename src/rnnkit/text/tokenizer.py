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
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rnnkit._io import atomic_write_text

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

Text = str | Sequence[str]  # a string, or a list of tokens already split


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

    Attributes (after :meth:`fit_on_texts`):
        word_counts: dict word → count, in first-occurrence order.
        word_docs: dict word → number of texts containing it.
        document_count: int, texts seen.
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
    ) -> None:
        if num_words is not None and (
            isinstance(num_words, bool) or not isinstance(num_words, int) or num_words < 1
        ):
            raise ValueError(
                f"Tokenizer: num_words must be None or an integer >= 1, got {num_words!r}"
            )
        if not isinstance(split, str) or not split:
            raise ValueError(f"Tokenizer: split must be a non-empty str, got {split!r}")
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.word_counts: dict[str, int] = {}
        self.word_docs: dict[str, int] = {}
        self.document_count = 0
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
                self.word_docs[w] = self.word_docs.get(w, 0) + 1
        # sorted() is stable: equal counts keep first-occurrence order.
        ranked = sorted(self.word_counts, key=lambda w: -self.word_counts[w])
        head = [] if self.oov_token is None else [self.oov_token]
        # Keras lists the oov_token a second time if it also occurs in the texts (and the
        # later index wins); here it stays at index 1.
        vocab = head + [w for w in ranked if w != self.oov_token]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}

    def texts_to_sequences(self, texts: Iterable[Text]) -> list[list[int]]:
        """Each text → its word indices; unknown words (and indices >= num_words) become the
        oov index when ``oov_token`` is set, otherwise they are dropped."""
        self._check_fitted("texts_to_sequences")
        oov = None if self.oov_token is None else self.word_index.get(self.oov_token)
        out = []
        for text in self._texts("texts_to_sequences", texts):
            seq = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and (self.num_words is None or i < self.num_words):
                    seq.append(i)
                elif oov is not None:
                    seq.append(oov)
            out.append(seq)
        return out

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each index sequence → its words joined by spaces (Keras joins by ' ' even for
        char_level); unknown or cut-off indices become ``oov_token`` or are dropped."""
        self._check_fitted("sequences_to_texts")
        out = []
        for seq in sequences:
            words = []
            for i in seq:
                w = self.index_word.get(int(i))
                if w is not None and (self.num_words is None or int(i) < self.num_words):
                    words.append(w)
                elif self.oov_token is not None:
                    words.append(self.oov_token)
            out.append(" ".join(words))
        return out

    # ---- files -------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Keras' config layout: options, plus the tables as JSON strings."""
        index_docs = {self.word_index[w]: c for w, c in self.word_docs.items()}
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
            "index_docs": json.dumps(index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **json_kwargs: Any) -> str:
        """The tokenizer as a JSON string, in Keras' format (``tokenizer_from_json`` reads it)."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **json_kwargs)

    @classmethod
    def from_json(cls, json_string: str, *, source: str = "Tokenizer.from_json") -> Tokenizer:
        """Rebuild a tokenizer from :meth:`to_json` output or a Keras tokenizer JSON."""
        try:
            data = json.loads(json_string)
            config = data["config"]
            tables = {
                name: json.loads(config[name])
                for name in ("word_counts", "word_docs", "word_index")
            }
            tok = cls(
                config["num_words"],
                filters=config["filters"],
                lower=config["lower"],
                split=config["split"],
                char_level=config["char_level"],
                oov_token=config["oov_token"],
            )
            tok.document_count = int(config["document_count"])
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{source}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
            ) from None
        except (KeyError, TypeError) as e:
            raise ValueError(
                f"{source}: not a tokenizer config (missing or bad field {e})"
            ) from None
        for name, table in tables.items():
            if not isinstance(table, dict) or not all(isinstance(v, int) for v in table.values()):
                raise ValueError(f"{source}: field {name!r} must map words to integers")
        tok.word_counts = tables["word_counts"]
        tok.word_docs = tables["word_docs"]
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
