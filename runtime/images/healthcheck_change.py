"""The HEALTHCHECK instruction (Dockerfile syntax) as an image config's Healthcheck, and Go durations.

`HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD command`
or `HEALTHCHECK NONE`; durations are Go's (`30s`, `1m30s`, `200ms`) and
end up in nanoseconds, as Docker stores them. The JSON form of the command
gives `["CMD", args...]`, the shell form `["CMD-SHELL", "command"]`.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

from runtime.images.errors import ImageInvalid

MINIMUM_NS = 1_000_000  # Docker's MinimumDuration (1ms)
DURATION_FLAGS = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                  "start-interval": "StartInterval"}
FLAGS = (*DURATION_FLAGS, "retries")
_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "h": 3_600_000_000_000}
_TERM = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")


def parse_go_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds; ImageInvalid with Go's message when it is not one."""
    rest = text
    sign = -1 if rest.startswith("-") else 1
    rest = rest[1:] if rest[:1] in "+-" else rest
    if rest == "0":
        return 0
    if not rest:
        raise ImageInvalid(f'time: invalid duration "{text}"')
    total = Fraction(0)
    while rest:
        match = _TERM.match(rest)
        whole, fraction, unit = match.groups() if match else ("", None, "")
        if not whole and not fraction:
            raise ImageInvalid(f'time: invalid duration "{text}"')
        if not unit:
            raise ImageInvalid(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS_NS:
            # The unit runs to the next digit or dot; anything else there is not Go's.
            raise ImageInvalid(f'time: unknown unit "{unit}" in duration "{text}"')
        number = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
        total += number * _UNITS_NS[unit]
        rest = rest[match.end():] if match else ""
    return sign * int(total)


def _flag_duration(name: str, value: str) -> int:
    ns = parse_go_duration(value) if value else 0
    if ns != 0 and ns < MINIMUM_NS:
        raise ImageInvalid(f'Interval "{name}" cannot be less than 1ms')
    return ns


def parse_healthcheck(args: str) -> dict[str, Any]:
    """The Healthcheck of `HEALTHCHECK <args>`."""
    rest = args.strip()
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        if word == "--":
            break
        name, sep, value = word[2:].partition("=")
        if name not in FLAGS:
            raise ImageInvalid(f"Unknown flag: {name}")
        if not sep:
            raise ImageInvalid(f"Missing a value on flag: --{name}")
        flags[name] = value
    if not rest:
        raise ImageInvalid("HEALTHCHECK requires at least one argument")
    parts = rest.split(None, 1)
    kind, command = parts[0].upper(), (parts[1].strip() if len(parts) > 1 else "")
    if kind == "NONE":
        if command:
            raise ImageInvalid("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise ImageInvalid(f'Unknown type "{parts[0]}" in HEALTHCHECK (try CMD)')
    test = _command(command)
    if len(test) < 2:
        raise ImageInvalid("Missing command after HEALTHCHECK CMD")
    healthcheck: dict[str, Any] = {"Test": test}
    for flag, key in DURATION_FLAGS.items():
        ns = _flag_duration(flag, flags.get(flag, ""))
        if ns:
            healthcheck[key] = ns
    if flags.get("retries"):
        try:
            retries = int(flags["retries"], 10)
        except ValueError:
            raise ImageInvalid(f'strconv.ParseInt: parsing "{flags["retries"]}": invalid syntax') from None
        if retries < 0:
            raise ImageInvalid(f"--retries cannot be negative ({retries})")
        if retries:
            healthcheck["Retries"] = retries
    return healthcheck


def _command(command: str) -> list[str]:
    if command.startswith("["):
        try:
            parsed = json.loads(command)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return ["CMD", *parsed]
    return ["CMD-SHELL", command] if command else ["CMD-SHELL"]
