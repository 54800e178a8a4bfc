"""Help text of config fields comes from their comments, wherever a formatter put them."""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.config import field_help


@dataclass(frozen=True)
class _Example:
    one_line: int = 1  # on the same line
    spread: tuple[str, ...] = (
        "a#b",  # after the opening line; a '#' inside a string is not a comment
    )
    bare: int = 2


def test_field_help_reads_comments_on_any_line_of_the_field() -> None:
    assert field_help(_Example) == {
        "one_line": "on the same line",
        "spread": "after the opening line; a '#' inside a string is not a comment",
    }
