"""Scalar conversions Docker Compose applies: Go's string forms, durations, byte sizes.

compose-go decodes scalars into Go types and prints them back, so a value
written `90s` comes out `1m30s` and `512m` comes out `536870912`. These
helpers reproduce those round trips; each raises ValueError with the message
compose gives, and the caller adds the position.
"""

from __future__ import annotations

import math
import re
from typing import Any

_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # micro sign
    "μs": 1_000,  # greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h|d|w)")
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+) ?([kmgtp]i?b?|b)?$", re.IGNORECASE)
_BINARY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def go_sprint(value: Any) -> str:
    """`fmt.Sprint(value)` for a YAML scalar: how compose turns numbers and booleans into strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        if "e" in text:
            mantissa, exp = text.split("e")
            sign = "-" if exp.startswith("-") else "+"
            text = f"{mantissa}e{sign}{exp.lstrip('+-').zfill(2)}"
        return text
    if value is None:
        return ""
    return str(value)


def parse_duration(value: Any) -> int:
    """Nanoseconds in a duration like `1m30s`, `1.5h`, `2d` (compose's str2duration)."""
    text = go_sprint(value)
    body = text.lstrip("+-")
    negative = text.startswith("-")
    if body == "0":
        return 0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0
    pos = 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if not match or (not match.group(1) and not match.group(2)):
            if match is None and _looks_unitless(body, pos):
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise ValueError(f'time: invalid duration "{text}"')
        whole, frac, unit = match.groups()
        scale = _NS[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    return -total if negative else total


def _looks_unitless(body: str, pos: int) -> bool:
    return re.fullmatch(r"[0-9.]+", body[pos:]) is not None


def _fraction(value: int, digits: int) -> str:
    whole, frac = divmod(value, 10**digits)
    tail = str(frac).rjust(digits, "0").rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def format_duration(ns: int) -> str:
    """Go's `time.Duration.String()`: `1m30s`, `1h0m0s`, `100ms`, `1.5µs`, `0s`."""
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u == 0:
        return "0s"
    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{_fraction(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{_fraction(u, 6)}ms"
    seconds = _fraction(u % 60_000_000_000, 9) + "s"
    minutes_total = u // 60_000_000_000
    if minutes_total == 0:
        return sign + seconds
    hours, minutes = divmod(minutes_total, 60)
    if hours == 0:
        return f"{sign}{minutes}m{seconds}"
    return f"{sign}{hours}h{minutes}m{seconds}"


def normalize_duration(value: Any) -> str:
    """A duration as compose prints it (`90s` -> `1m30s`)."""
    return format_duration(parse_duration(value))


def parse_bytes(value: Any) -> int:
    """Bytes in a size like `512m`, `1.5GiB`, `1024` (docker/go-units RAMInBytes, 1024-based)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size: '{go_sprint(value)}'")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value)
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"invalid size: '{text}'")
    number, suffix = match.groups()
    size = float(number)
    suffix = (suffix or "").lower()
    if suffix and suffix[0] != "b":
        size *= _BINARY[suffix[0]]
    return int(size)


def parse_cpus(value: Any) -> int | float:
    """`cpus` as the float compose stores; integral values stay ints so they print as `1`."""
    if isinstance(value, bool):
        raise ValueError(f"invalid cpus value: {go_sprint(value)}")
    number = float(value) if isinstance(value, str) else value
    if not isinstance(number, int | float):
        raise ValueError(f"invalid cpus value: {value!r}")
    if isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def parse_file_mode(value: Any) -> int:
    """A secret/config `mode`: a string is octal (`"0440"`), a number is taken as is."""
    if isinstance(value, bool):
        raise ValueError(f"unexpected value type bool for mode: {go_sprint(value)}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        raise ValueError(f"invalid file mode {value!r}, expected an octal number") from None


def format_file_mode(mode: int) -> str:
    """How compose prints a file mode: `0440`."""
    return f"0{mode:o}"
