"""Tag schemes of span labelling (IOB1, IOB2, BIOES): checking, decoding, converting, and the
transitions that keep a sequence well formed.

A tag is ``O`` or ``<prefix>-<type>``, e.g. ``B-PER``. Entities are decoded as CoNLL's
``conlleval`` decodes them (``end_of_chunk`` / ``start_of_chunk`` below), so a malformed sequence
(a stray ``I-`` after ``O``, a type change inside ``I-`` tags) still yields entities, the same
ones the official scorer sees.

>>> spans(["I-PER", "B-PER", "O", "I-LOC"], "iob1")
[('PER', 0, 1), ('PER', 1, 2), ('LOC', 3, 4)]
>>> convert(["I-PER", "B-PER", "O", "I-LOC"], "iob1", "bioes")
['S-PER', 'S-PER', 'O', 'S-LOC']
>>> convert(["B-LOC", "I-LOC", "O"], "iob2", "iob1")
['I-LOC', 'I-LOC', 'O']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

SCHEMES: tuple[str, ...] = ("iob1", "iob2", "bioes")
OUTSIDE = "O"
SCHEME_PREFIXES: dict[str, tuple[str, ...]] = {
    "iob1": ("I", "B"),
    "iob2": ("B", "I"),
    "bioes": ("B", "I", "E", "S"),
}

Span = tuple[str, int, int]  # (type, start, end exclusive)


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, dash, kind = tag.partition("-")
    if not dash or not kind:
        raise ValueError(f"tag {tag!r} is neither O nor <prefix>-<type>")
    return prefix, kind


def check_tags(tags: Sequence[str], scheme: str, *, where: str = "tags") -> None:
    """Raise ValueError naming ``where`` unless every tag is ``O`` or ``<prefix>-<type>`` with
    a prefix of ``scheme``. Order is not checked: see ``allowed_transitions``."""
    _check_scheme(scheme, where=where)
    if isinstance(tags, str):
        raise ValueError(f"{where}: tags must be a sequence of str, got the str {tags!r}")
    prefixes = SCHEME_PREFIXES[scheme]
    for position, tag in enumerate(tags):
        if tag == OUTSIDE:
            continue
        prefix, dash, kind = tag.partition("-") if isinstance(tag, str) else ("", "", "")
        if not dash or not kind or prefix not in prefixes:
            raise ValueError(
                f"{where}: tag {tag!r} at position {position} is not O or <prefix>-<type> with "
                f"a {scheme} prefix ({', '.join(prefixes)})"
            )


def end_of_chunk(prev_prefix: str, prefix: str, prev_type: str, kind: str) -> bool:
    """Whether a chunk ended between the previous and the current token: conlleval's
    ``endOfChunk``, line for line, then the BIOES lines it lacks (tags and types split as
    ``"B-PER"`` -> ``"B"``, ``"PER"``; ``O`` has type ``""``)."""
    # conlleval 2004-01-26
    end = False
    if prev_prefix == "B" and prefix == "B":
        end = True
    if prev_prefix == "B" and prefix == "O":
        end = True
    if prev_prefix == "I" and prefix == "B":
        end = True
    if prev_prefix == "I" and prefix == "O":
        end = True
    if prev_prefix == "E" and prefix == "E":
        end = True
    if prev_prefix == "E" and prefix == "I":
        end = True
    if prev_prefix == "E" and prefix == "O":
        end = True
    # (the Perl repeats the I, O line here)
    if prev_prefix not in ("O", ".") and prev_type != kind:
        end = True
    # "corrected 1998-12-22: these chunks are assumed to have length 1"
    if prev_prefix in ("]", "["):
        end = True
    # BIOES (the lines the BIOES variant of conlleval adds): S is a chunk of its own, and E ends
    # one before a B or an S.
    if prev_prefix in ("B", "I", "E") and prefix == "S":
        end = True
    if prev_prefix == "E" and prefix == "B":
        end = True
    if prev_prefix == "S" and prefix in ("B", "I", "E", "O", "S"):
        end = True
    return end


def start_of_chunk(prev_prefix: str, prefix: str, prev_type: str, kind: str) -> bool:
    """Whether a chunk started at the current token: conlleval's ``startOfChunk``, line for
    line, then the BIOES lines it lacks."""
    # conlleval 2004-01-26
    start = False
    if prev_prefix == "B" and prefix == "B":
        start = True
    if prev_prefix == "I" and prefix == "B":
        start = True
    if prev_prefix == "O" and prefix == "B":
        start = True
    if prev_prefix == "O" and prefix == "I":  # IOB1: an I- after O opens a chunk
        start = True
    if prev_prefix == "E" and prefix == "E":
        start = True
    if prev_prefix == "E" and prefix == "I":
        start = True
    if prev_prefix == "O" and prefix == "E":
        start = True
    # (the Perl repeats the O, I line here)
    if prefix not in ("O", ".") and prev_type != kind:
        start = True
    # "corrected 1998-12-22: these chunks are assumed to have length 1"
    if prefix in ("[", "]"):
        start = True
    # BIOES (the lines the BIOES variant of conlleval adds): S is a chunk of its own, and a B
    # after an E or S starts one.
    if prev_prefix in ("B", "I", "O", "E", "S") and prefix == "S":
        start = True
    if prev_prefix in ("E", "S") and prefix == "B":
        start = True
    if prev_prefix == "S" and prefix in ("I", "E"):
        start = True
    return start


def spans(tags: Sequence[str], scheme: str) -> list[Span]:
    """The entities of one sentence as ``(type, start, end_exclusive)``, decoded as conlleval
    decodes them; ``scheme`` names the prefixes the tags may use."""
    check_tags(tags, scheme, where="spans")
    return _decode(tags)


def convert(tags: Sequence[str], source: str, target: str) -> list[str]:
    """One sentence's tags rewritten from scheme ``source`` to ``target`` through its entities.

    IOB1 output starts an entity with ``B-`` only where it directly follows an entity of the
    same type; IOB2 starts every entity with ``B-``; BIOES marks single tokens ``S-`` and the
    last token ``E-``. A malformed input comes out well formed, with conlleval's entities.
    """
    check_tags(tags, source, where="convert")
    _check_scheme(target, where="convert")
    out = [OUTSIDE] * len(tags)
    prev_end, prev_type = -1, ""
    for kind, start, end in _decode(tags):
        if target == "iob1":
            first = "B" if (start, kind) == (prev_end, prev_type) else "I"
            out[start:end] = [f"{first}-{kind}"] + [f"I-{kind}"] * (end - start - 1)
        elif target == "iob2":
            out[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
        elif end - start == 1:
            out[start] = f"S-{kind}"
        else:
            out[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 2) + [f"E-{kind}"]
        prev_end, prev_type = end, kind
    return out


def allowed_transitions(
    tags: Sequence[str], scheme: str
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """Which moves keep a sequence well formed in ``scheme`` (e.g. to constrain a CRF).

    Returns ``(allowed_start, allowed_transitions, allowed_end)``: bool arrays of shape (K,),
    (K, K) indexed [from, to], and (K,), where index i stands for ``tags[i]``. A sequence that
    starts, moves and ends only where they are True is exactly one that ``convert`` gives back
    unchanged (its canonical form).

    >>> start, moves, end = allowed_transitions(["O", "B-PER", "I-PER"], "iob2")
    >>> start.tolist(), moves[0].tolist(), end.tolist()
    ([True, True, False], [True, True, False], [True, True, True])
    """
    check_tags(tags, scheme, where="allowed_transitions")
    parts = [split_tag(tag) for tag in tags]
    size = len(parts)
    allowed_start = np.array([_may_start(p, scheme) for p, _ in parts], dtype=np.bool_)
    allowed_end = np.array([_may_end(p, scheme) for p, _ in parts], dtype=np.bool_)
    moves = [_may_follow(before, after, scheme) for before in parts for after in parts]
    return allowed_start, np.array(moves, dtype=np.bool_).reshape(size, size), allowed_end


def _may_start(prefix: str, scheme: str) -> bool:
    if scheme == "iob1":
        return prefix != "B"  # B- only right after an entity of its type
    if scheme == "iob2":
        return prefix != "I"
    return prefix in ("O", "B", "S")


def _may_end(prefix: str, scheme: str) -> bool:
    return scheme != "bioes" or prefix in ("O", "E", "S")


def _may_follow(before: tuple[str, str], after: tuple[str, str], scheme: str) -> bool:
    (prev_prefix, prev_type), (prefix, kind) = before, after
    inside_same = prev_prefix in ("B", "I") and prev_type == kind
    if scheme == "iob1":
        return prefix != "B" or inside_same
    if scheme == "iob2":
        return prefix != "I" or inside_same
    if prev_prefix in ("B", "I"):
        return prefix in ("I", "E") and prev_type == kind
    return prefix in ("O", "B", "S")


def _decode(tags: Sequence[str]) -> list[Span]:
    """conlleval's chunk walk over checked tags, with an ``O`` after the last one."""
    found: list[Span] = []
    prev_prefix, prev_type, start = OUTSIDE, "", 0
    for position, tag in enumerate([*tags, OUTSIDE]):
        prefix, kind = split_tag(tag)
        if end_of_chunk(prev_prefix, prefix, prev_type, kind):
            found.append((prev_type, start, position))
        if start_of_chunk(prev_prefix, prefix, prev_type, kind):
            start = position
        prev_prefix, prev_type = prefix, kind
    return found


def _check_scheme(scheme: str, *, where: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(
            f"{where}: unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}"
        )
