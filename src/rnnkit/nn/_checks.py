"""Argument checks shared by the cells and layers: one clear line naming class, argument, value."""

from __future__ import annotations

import math

BACKENDS = ("auto", "native", "fused", "loop")


def check_size(owner: str, name: str, value: object) -> int:
    """A positive integer size, or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return value


def check_proj_size(owner: str, value: object, hidden_size: object) -> int:
    """torch's rule for an LSTM's ``proj_size``: an integer, 0 (no projection) or in
    [1, hidden_size), or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{owner}: proj_size must be a non-negative integer (0: no projection), got {value!r}"
        )
    if value and isinstance(hidden_size, int) and value >= hidden_size:
        raise ValueError(
            f"{owner}: proj_size must be smaller than hidden_size={hidden_size} (torch's rule), "
            f"got proj_size={value}"
        )
    return value


def check_dropout(owner: str, value: object) -> float:
    """A probability in [0, 1], or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{owner}: dropout must be in [0, 1], got {value!r}")
    return float(value)


def check_choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    """One of ``choices``, or ValueError listing them."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {valid}, got {value!r}")
    return str(value)


def check_finite(owner: str, name: str, value: object) -> float:
    """A finite real number, or ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


def check_backend(owner: str, requested: object, missing_in_torch: str | None) -> str:
    """The backend asked for, checked against the configuration; it does not decide what runs
    (``_RecurrentLayer._dispatch`` does, at each call).

    ``missing_in_torch`` names the option torch has no kernel for (e.g. "peephole=True"), or
    None: ``backend='native'`` is refused for it.
    """
    requested = check_choice(owner, "backend", requested, BACKENDS)
    if requested == "native" and missing_in_torch is not None:
        raise ValueError(
            f"{owner}: backend='native' is not available for {missing_in_torch} "
            "(torch has no kernel for it); use backend='fused', 'loop' or 'auto'"
        )
    return requested
