"""On/off switches read from the environment, one way for every switch rnnkit reads."""

from __future__ import annotations

import os

ON = ("1", "true", "on", "yes")
OFF = ("0", "false", "off", "no")


def switch(name: str, default: bool) -> bool:
    """Environment variable ``name`` as a switch: True for 1/true/on/yes, False for
    0/false/off/no (any case, surrounding spaces ignored), ``default`` when unset or else."""
    value = os.environ.get(name, "").strip().lower()
    if value in ON:
        return True
    if value in OFF:
        return False
    return default
