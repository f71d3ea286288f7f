"""Go's duration syntax (HEALTHCHECK flags)."""

from __future__ import annotations

import pytest

from runtime.dockerfile.durations import parse_go_duration

MS = 1_000_000
S = 1_000_000_000


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("30s", 30 * S), ("200ms", 200 * MS), ("1m30s", 90 * S), ("1.5s", 1500 * MS), (".5s", 500 * MS),
    ("1h", 3600 * S), ("10us", 10_000), ("10µs", 10_000), ("7ns", 7), ("-2s", -2 * S), ("+1m", 60 * S),
    ("2h45m0.5s", (2 * 3600 + 45 * 60) * S + 500 * MS),
])  # fmt: skip
def test_go_durations(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("", 'invalid duration ""'), ("5", 'missing unit in duration "5"'), ("5x", 'unknown unit "x"'),
    ("s", 'invalid duration "s"'), (".s", 'invalid duration ".s"'), ("1s2", 'missing unit'),
])  # fmt: skip
def test_bad_go_durations(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_go_duration(text)
