"""Go string forms, durations, byte sizes, file modes."""

from __future__ import annotations

import pytest

from compose.loader.units import (
    format_duration,
    format_file_mode,
    go_sprint,
    normalize_duration,
    parse_bytes,
    parse_cpus,
    parse_duration,
    parse_file_mode,
)


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"), (False, "false"), (3, "3"), (1.5, "1.5"), (2.0, "2"), (1e-05, "1e-05"), (None, ""), ("s", "s"),
])
def test_go_sprint(value: object, text: str) -> None:
    assert go_sprint(value) == text


@pytest.mark.parametrize(("given", "printed"), [
    ("90s", "1m30s"), ("30s", "30s"), ("100ms", "100ms"), ("1h", "1h0m0s"), ("1.5s", "1.5s"), ("0", "0s"),
    ("1m30s", "1m30s"), ("2d", "48h0m0s"), ("1w", "168h0m0s"), ("1500us", "1.5ms"), ("10ns", "10ns"),
    ("1µs", "1µs"), ("-5s", "-5s"), ("1h2m3.004s", "1h2m3.004s"), (".5s", "500ms"),
])
def test_durations_print_like_go(given: str, printed: str) -> None:
    assert normalize_duration(given) == printed


@pytest.mark.parametrize("bad", ["10", "soon", "1x", "", "s"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration_large_and_small() -> None:
    assert format_duration(25 * 3600 * 10**9) == "25h0m0s"
    assert format_duration(999) == "999ns"


@pytest.mark.parametrize(("given", "size"), [
    ("512m", 512 << 20), ("1g", 1 << 30), ("1GiB", 1 << 30), ("1GB", 1 << 30), ("10k", 10240), ("100", 100),
    ("100b", 100), ("1.5m", int(1.5 * (1 << 20))), ("-1", -1), (2048, 2048), ("64 M", 64 << 20),
])
def test_bytes(given: object, size: int) -> None:
    assert parse_bytes(given) == size


@pytest.mark.parametrize("bad", ["lots", "1x", "1mbb", "m"])
def test_bad_bytes(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_bytes(bad)


def test_cpus_and_modes() -> None:
    assert parse_cpus("0.5") == 0.5
    assert parse_cpus("2") == 2 and isinstance(parse_cpus(2.0), int)
    assert parse_file_mode("0440") == 0o440
    assert parse_file_mode(288) == 288
    assert format_file_mode(0o440) == "0440"
    with pytest.raises(ValueError):
        parse_file_mode("9")
