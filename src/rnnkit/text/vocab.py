"""``Vocab``: a token ↔ index mapping with special tokens, built from counts, saved as JSON.

Indices: ``pad`` (0), ``unk`` (1), the extra ``specials`` in order, then the counted tokens.

>>> vocab = Vocab.build([["the", "cat"], ["the", "dog"]], specials=("<bos>",))
>>> vocab.itos
['<pad>', '<unk>', '<bos>', 'the', 'cat', 'dog']
>>> vocab.encode(["the", "bird"])
[3, 1]
>>> vocab.decode([2, 3, 5])
['<bos>', 'the', 'dog']
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rnnkit._io import atomic_write_text

FORMAT = "rnnkit.vocab"
FORMAT_VERSION = 1


class Vocab:
    """An ordered token list with special tokens first.

    Args:
        tokens: the ordinary tokens, in index order; they follow the specials.
        pad: the padding token, at index 0, or None for no padding token.
        unk: the unknown token, right after ``pad``, or None: then looking up an unknown
            token raises ValueError.
        specials: extra special tokens (``"<bos>"``, ``"<eos>"``, …), after ``pad`` and ``unk``.

    Attributes:
        itos: list[str], every token in index order.
        pad_index, unk_index: int or None.
    """

    def __init__(
        self,
        tokens: Iterable[str] = (),
        *,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        specials: Sequence[str] = (),
    ) -> None:
        if isinstance(specials, str):
            raise ValueError(f"Vocab: specials must be a sequence of str, got the str {specials!r}")
        self.pad = pad
        self.unk = unk
        self.specials = tuple(specials)
        head = [t for t in (pad, unk) if t is not None] + list(self.specials)
        self.itos: list[str] = []
        self._stoi: dict[str, int] = {}
        for token in [*head, *tokens]:
            if not isinstance(token, str):
                raise ValueError(f"Vocab: tokens must be str, got {token!r}")
            if token in self._stoi:
                raise ValueError(f"Vocab: duplicate token {token!r}")
            self._stoi[token] = len(self.itos)
            self.itos.append(token)
        self.pad_index = None if pad is None else self._stoi[pad]
        self.unk_index = None if unk is None else self._stoi[unk]
        self.num_specials = len(head)

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Iterable[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        specials: Sequence[str] = (),
    ) -> Vocab:
        """Count tokens and keep the frequent ones.

        Order: count descending, ties by first occurrence (deterministic). Tokens seen fewer
        than ``min_freq`` times are dropped; ``max_size`` caps the whole vocabulary, specials
        included (so it is the embedding table's size). Special tokens found in the data are
        not counted again.
        """
        if isinstance(token_lists, str):
            raise ValueError("Vocab.build: token_lists must be a list of token lists, got a str")
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"Vocab.build: min_freq must be an integer >= 1, got {min_freq!r}")
        counts: dict[str, int] = {}  # insertion order = first occurrence
        for i, tokens in enumerate(token_lists):
            if isinstance(tokens, str):
                raise ValueError(
                    f"Vocab.build: token_lists[{i}] must be a list of tokens, got the str "
                    f"{tokens[:30]!r}; tokenize it first"
                )
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
        reserved = {t for t in (pad, unk, *specials) if t is not None}
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in reserved),
            key=lambda t: -counts[t],  # sorted() is stable: ties keep first-occurrence order
        )
        n_special = sum(t is not None for t in (pad, unk)) + len(specials)
        if max_size is not None:
            if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < n_special:
                raise ValueError(
                    f"Vocab.build: max_size must be an integer >= the {n_special} special "
                    f"tokens, got {max_size!r}"
                )
            ranked = ranked[: max_size - n_special]
        return cls(ranked, pad=pad, unk=unk, specials=specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return (self.itos, self.pad, self.unk, self.specials) == (
            other.itos,
            other.pad,
            other.unk,
            other.specials,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-style value equality, like list

    def __repr__(self) -> str:
        return (
            f"Vocab(size={len(self)}, pad={self.pad!r}, unk={self.unk!r}, "
            f"specials={self.specials!r})"
        )

    def index(self, token: str) -> int:
        """The index of ``token``; ``unk_index`` when unknown (ValueError if there is no unk)."""
        i = self._stoi.get(token)
        if i is not None:
            return i
        if self.unk_index is None:
            raise ValueError(f"Vocab: unknown token {token!r} and this vocabulary has no unk token")
        return self.unk_index

    def token(self, i: int) -> str:
        """The token at index ``i`` (0 <= i < len), or IndexError."""
        i = operator.index(i)
        if not 0 <= i < len(self.itos):
            raise IndexError(
                f"Vocab: index {i} out of range for a vocabulary of {len(self)} tokens"
            )
        return self.itos[i]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Tokens → indices (unknown tokens → ``unk_index``)."""
        if isinstance(tokens, str):
            raise ValueError("Vocab.encode: tokens must be a list of tokens, got a str")
        return [self.index(t) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Indices → tokens (accepts ints, NumPy ints or a 1-D LongTensor)."""
        return [self.token(i) for i in ids]

    # ---- files -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: format tag, special-token names and every token in index order."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "pad": self.pad,
            "unk": self.unk,
            "specials": list(self.specials),
            "itos": list(self.itos),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary as JSON, atomically. Returns the path written."""
        return atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by :meth:`save`; ValueError naming the file and the problem."""
        where = f"Vocab.load: {os.fspath(path)}"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"{where}: no such file") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{where}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
            ) from None
        return cls._from_dict(data, where)

    @classmethod
    def _from_dict(cls, data: object, where: str) -> Vocab:
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(
                f"{where}: field 'format' must be {FORMAT!r}, got {data.get('format')!r}"
            )
        for name in ("pad", "unk", "specials", "itos"):
            if name not in data:
                raise ValueError(f"{where}: missing field {name!r}")
        pad, unk, specials, itos = data["pad"], data["unk"], data["specials"], data["itos"]
        for name, value in (("pad", pad), ("unk", unk)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{where}: field {name!r} must be a string or null, got {value!r}")
        for name, value in (("specials", specials), ("itos", itos)):
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValueError(f"{where}: field {name!r} must be a list of strings")
        head = [t for t in (pad, unk) if t is not None] + specials
        if itos[: len(head)] != head:
            raise ValueError(
                f"{where}: field 'itos' must start with the special tokens {head!r}, "
                f"got {itos[: len(head)]!r}"
            )
        try:
            return cls(itos[len(head) :], pad=pad, unk=unk, specials=specials)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
