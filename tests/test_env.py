"""rnnkit._env.switch: one reading of on/off environment variables."""

from __future__ import annotations

import pytest

from rnnkit._env import switch


@pytest.mark.parametrize("value", ["1", "true", "On", " YES "])
def test_on_values(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNKIT_TEST_SWITCH", value)
    assert switch("RNNKIT_TEST_SWITCH", default=False) is True


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no "])
def test_off_values(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNKIT_TEST_SWITCH", value)
    assert switch("RNNKIT_TEST_SWITCH", default=True) is False


@pytest.mark.parametrize("value", [None, "", "maybe"])
@pytest.mark.parametrize("default", [True, False])
def test_unset_or_unknown_is_the_default(
    value: str | None, default: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("RNNKIT_TEST_SWITCH", raising=False)
    else:
        monkeypatch.setenv("RNNKIT_TEST_SWITCH", value)
    assert switch("RNNKIT_TEST_SWITCH", default=default) is default
