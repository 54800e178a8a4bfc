"""Word and character tokenizers: ``str -> list[str]``, and the detokenizer of translations.

>>> word_tokenize("Don't panic, it's 4 o'clock!")
["don't", 'panic', ',', "it's", '4', "o'clock", '!']
>>> char_tokenize("ab c")
['a', 'b', ' ', 'c']
>>> unicode_word_tokenize("Zwei Männer, im T-Shirt.")
['Zwei', 'Männer', ',', 'im', 'T', '-', 'Shirt', '.']
>>> detokenize(['Two', 'men', ',', 'in', 'T', '-', 'shirts', '.'])
'Two men, in T-shirts.'
"""

from __future__ import annotations

import re

# A run of letters/digits with an optional apostrophe suffix ("don't", "it's"), or one
# character that is neither a space nor a letter/digit (each punctuation mark is its own token).
WORD_PATTERN = r"[a-z0-9]+('[a-z]+)?|[^\sa-z0-9]"
_WORD_RE = re.compile(WORD_PATTERN)
_WORD_RE_CASED = re.compile(WORD_PATTERN, re.IGNORECASE)
# The same shape over every script: a run of letters/digits of any language ("Männer", "café")
# with an optional apostrophe suffix, or one character that is neither a space nor a letter/digit.
UNICODE_WORD_PATTERN = r"[^\W_]+(?:'[^\W_]+)?|[^\s\w]|_"
_UNICODE_WORD_RE = re.compile(UNICODE_WORD_PATTERN)
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:%)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")
_JOINED = re.compile(r"(?<=[^\W_]) ([-/]) (?=[^\W_])")


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


def unicode_word_tokenize(text: str, *, lower: bool = False) -> list[str]:
    """Words of any script and single punctuation marks, the case kept unless ``lower``: what
    the translation task reads (``word_tokenize`` splits letters outside a-z, such as German
    umlauts, into one-character tokens)."""
    text = _check_text("unicode_word_tokenize", text)
    return _UNICODE_WORD_RE.findall(text.lower() if lower else text)


def detokenize(tokens: list[str]) -> str:
    """Tokens back to text: joined by spaces, then no space before closing punctuation
    (``. , ! ? ; : % ) ] }``), after an opening bracket, or around a hyphen or slash between
    two words. An approximation of the writer's spacing (quotes are left spaced), enough for
    BLEU, whose 13a tokenizer splits that punctuation off again."""
    text = " ".join(tokens)
    text = _NO_SPACE_BEFORE.sub(r"\1", text)
    text = _NO_SPACE_AFTER.sub(r"\1", text)
    return _JOINED.sub(r"\1", text)
