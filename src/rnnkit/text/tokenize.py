"""Word and character tokenizers: ``str -> list[str]``.

>>> word_tokenize("Don't panic, it's 4 o'clock!")
["don't", 'panic', ',', "it's", '4', "o'clock", '!']
>>> char_tokenize("ab c")
['a', 'b', ' ', 'c']
"""

from __future__ import annotations

import re

# A run of letters/digits with an optional apostrophe suffix ("don't", "it's"), or one
# character that is neither a space nor a letter/digit (each punctuation mark is its own token).
WORD_PATTERN = r"[a-z0-9]+('[a-z]+)?|[^\sa-z0-9]"
_WORD_RE = re.compile(WORD_PATTERN)
_WORD_RE_CASED = re.compile(WORD_PATTERN, re.IGNORECASE)


def _check_text(owner: str, text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{owner}: text must be a str, got {type(text).__name__}")
    return text


def word_tokenize(text: str, *, lower: bool = True) -> list[str]:
    """Split ``text`` into words and single punctuation marks.

    Matches ``[a-z0-9]+('[a-z]+)?|[^\\sa-z0-9]`` on the lowercased text. With ``lower=False``
    the case is kept (the same pattern, case-insensitive). Letters outside a-z (é, ß, …) are
    not word characters here: each becomes a one-character token.
    """
    text = _check_text("word_tokenize", text)
    if lower:
        return [m.group(0) for m in _WORD_RE.finditer(text.lower())]
    return [m.group(0) for m in _WORD_RE_CASED.finditer(text)]


def char_tokenize(text: str) -> list[str]:
    """Split ``text`` into its characters, spaces and punctuation included."""
    return list(_check_text("char_tokenize", text))
