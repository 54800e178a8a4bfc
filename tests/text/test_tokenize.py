"""word_tokenize / char_tokenize, and the rnnkit.text public surface."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import pytest

import rnnkit.text
import rnnkit.text.tokenize
from rnnkit.text import char_tokenize, word_tokenize

PUBLIC = {
    "BucketBatchSampler",
    "TextBatch",
    "Tokenizer",
    "Vocab",
    "char_tokenize",
    "collate_padded",
    "detokenize",
    "pad_batch",
    "pad_sequences",
    "sequence_lengths",
    "text_to_word_sequence",
    "tokenizer_from_json",
    "unicode_word_tokenize",
    "word_tokenize",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The cat sat.", ["the", "cat", "sat", "."]),
        ("Don't stop!!", ["don't", "stop", "!", "!"]),  # one punctuation mark per token
        ("it's 4.30 p.m.", ["it's", "4", ".", "30", "p", ".", "m", "."]),
        ("rock'n'roll", ["rock'n", "'", "roll"]),  # the suffix is a single 'letters group
        ("trailing' quote", ["trailing", "'", "quote"]),
        ("  tabs\tand\nnewlines  ", ["tabs", "and", "newlines"]),
        ("e-mail @home", ["e", "-", "mail", "@", "home"]),
        ("café", ["caf", "é"]),  # letters outside a-z are single-character tokens
        ("", []),
    ],
)
def test_word_tokenize(text: str, expected: list[str]) -> None:
    assert word_tokenize(text) == expected


def test_word_tokenize_can_keep_case() -> None:
    assert word_tokenize("Don't Stop", lower=False) == ["Don't", "Stop"]
    assert word_tokenize("Don't Stop") == ["don't", "stop"]


def test_char_tokenize_keeps_everything() -> None:
    assert char_tokenize("Hi, a\tb") == ["H", "i", ",", " ", "a", "\t", "b"]
    assert char_tokenize("") == []


def test_non_str_input_is_named() -> None:
    with pytest.raises(TypeError, match="word_tokenize: text must be a str, got list"):
        word_tokenize(["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="char_tokenize: text must be a str, got bytes"):
        char_tokenize(b"ab")  # type: ignore[arg-type]


def test_all_is_pinned_and_importable() -> None:
    assert set(rnnkit.text.__all__) == PUBLIC and len(rnnkit.text.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert getattr(rnnkit.text, name) is not None


def test_text_depends_on_nothing_else_in_rnnkit() -> None:
    """Only its own modules and the leaf helper ``rnnkit._io``."""
    folder = Path(rnnkit.text.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                inside = module in ("rnnkit.text", "rnnkit._io") or module.startswith(
                    "rnnkit.text."
                )
                assert inside or module.split(".")[0] != "rnnkit", f"{path.name} imports {module}"


def test_docstring_examples_pass() -> None:
    result = doctest.testmod(rnnkit.text.tokenize, report=False)
    assert result.attempted > 0 and result.failed == 0
