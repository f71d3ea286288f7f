"""Go's time.ParseDuration (`30s`, `1m30s`, `200ms`, `1.5h`) in nanoseconds, with Go's messages."""

from __future__ import annotations

import re
from fractions import Fraction

UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
            "m": 60_000_000_000, "h": 3_600_000_000_000}
_TERM = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_go_duration(text: str) -> int:
    """Nanoseconds; ValueError with Go's message when `text` is not a duration."""
    rest = text
    sign = -1 if rest.startswith("-") else 1
    rest = rest[1:] if rest[:1] in "+-" else rest
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f'time: invalid duration "{text}"')
    total = Fraction(0)
    while rest:
        match = _TERM.match(rest)
        whole, fraction, unit = match.groups() if match else ("", None, "")
        if not whole and not fraction:
            raise ValueError(f'time: invalid duration "{text}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in UNITS_NS:
            # The unit runs to the next digit or dot; anything else there is not Go's.
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        number = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
        total += number * UNITS_NS[unit]
        rest = rest[match.end():] if match else ""
    return sign * int(total)
