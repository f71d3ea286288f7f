"""HEALTHCHECK in `--change` instructions, and Go's duration syntax."""

from __future__ import annotations

import pytest

from runtime.images.changes import apply_changes
from runtime.images.errors import ImageInvalid
from runtime.images.healthcheck_change import parse_go_duration, parse_healthcheck

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
    with pytest.raises(ImageInvalid, match=message):
        parse_go_duration(text)


def test_shell_and_exec_forms_with_flags() -> None:
    assert parse_healthcheck("CMD test -f /tmp/ok") == {"Test": ["CMD-SHELL", "test -f /tmp/ok"]}
    assert parse_healthcheck('cmd ["true", "x"]') == {"Test": ["CMD", "true", "x"]}
    assert parse_healthcheck("--interval=200ms --timeout=1s --start-period=2s --start-interval=100ms "
                             "--retries=4 CMD true") == {
        "Test": ["CMD-SHELL", "true"], "Interval": 200 * MS, "Timeout": S, "StartPeriod": 2 * S,
        "StartInterval": 100 * MS, "Retries": 4}
    assert parse_healthcheck("--interval=0s --retries=0 CMD true") == {"Test": ["CMD-SHELL", "true"]}
    assert parse_healthcheck("NONE") == {"Test": ["NONE"]}


@pytest.mark.parametrize(("args", "message"), [
    ("", "requires at least one argument"),
    ("NONE extra", "HEALTHCHECK NONE takes no arguments"),
    ("CMD", "Missing command after HEALTHCHECK CMD"),
    ("HTTP /", 'Unknown type "HTTP" in HEALTHCHECK'),
    ("--interval=10us CMD true", 'Interval "interval" cannot be less than 1ms'),
    ("--retries=-1 CMD true", "--retries cannot be negative"),
    ("--retries=x CMD true", "invalid syntax"),
    ("--every=1s CMD true", "Unknown flag: every"),
    ("--interval CMD true", "Missing a value on flag: --interval"),
])  # fmt: skip
def test_bad_healthchecks(args: str, message: str) -> None:
    with pytest.raises(ImageInvalid, match=message):
        parse_healthcheck(args)


def test_apply_changes_sets_the_healthcheck() -> None:
    config = apply_changes(['CMD ["sh"]', "HEALTHCHECK --interval=5s CMD true"])
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5 * S}
    assert apply_changes(["HEALTHCHECK NONE"], config)["Healthcheck"] == {"Test": ["NONE"]}
