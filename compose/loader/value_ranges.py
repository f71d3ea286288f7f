"""Range checks on values the schema only types: ports, durations, sizes, CPUs, ulimits.

The schema says `target` is an integer and `cpus` a number; a port of 10^20,
`cpus: .nan`, a negative grace period or a soft limit above the hard one pass
it and would only fail (or be misread) at the engine. These conversions refuse
them at load, with the wording Docker's own checks use where there is one.
Each raises ValueError (or returns a message) and the caller adds the position.
"""

from __future__ import annotations

import math
from typing import Any

from compose.errors import Mark
from compose.loader.marks import MDict
from compose.loader.units import go_sprint, normalize_duration, parse_bytes, parse_cpus, parse_duration
from compose.loader.walk import DocPath, fail

INT64_MAX = (1 << 63) - 1
PORT_MAX = 65535
UNLIMITED = -1  # a ulimit (or memswap_limit) of -1 means no limit


def duration(value: Any) -> str:
    """A non-negative duration as compose prints it."""
    ns = parse_duration(value)
    if ns > INT64_MAX:
        raise ValueError(f'time: invalid duration "{go_sprint(value)}"')
    if ns < 0:
        raise ValueError("a duration cannot be negative")
    return normalize_duration(value)


def size(value: Any) -> int:
    """A byte size: a non-negative integer that fits in int64."""
    number = _size(value)
    if number < 0:
        raise ValueError("a size cannot be negative")
    return number


def swap_limit(value: Any) -> int:
    """`memswap_limit`: a size, or -1 for unlimited swap."""
    number = _size(value)
    if number < UNLIMITED:
        raise ValueError("must be a size, or -1 for unlimited swap")
    return number


def swappiness(value: Any) -> int:
    number = _size(value)
    if not 0 <= number <= 100:
        raise ValueError(f"Invalid value: {number}, valid memory swappiness range is 0-100")
    return number


def _size(value: Any) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a size must be a finite number")
    number = parse_bytes(value)
    if abs(number) > INT64_MAX:
        raise ValueError("value out of range")
    return number


def cpus(value: Any) -> int | float:
    """`cpus`: a finite, non-negative number."""
    try:
        number = parse_cpus(value)
    except OverflowError:
        raise ValueError("value out of range") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError("cpus must be a non-negative number")
    return number


def port(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """A port in long form: `target` and `published` (a number or a range) within 0-65535."""
    if not isinstance(value, MDict):
        return value
    target = value.get("target")
    if target is not None and not _port_in_range(target):
        raise fail(f"invalid containerPort: {go_sprint(target)} (value out of range 0-{PORT_MAX})",
                   (*path, "target"), value.mark_of("target") or mark)
    published = value.get("published")
    if published is not None and published != "":
        text = go_sprint(published)
        start, sep, end = text.partition("-")
        if not _port_in_range(start) or (sep and not _port_in_range(end)):
            raise fail(f"invalid hostPort: {text} (value out of range 0-{PORT_MAX})",
                       (*path, "published"), value.mark_of("published") or mark)
    return value


def _port_in_range(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= PORT_MAX
    text = str(value)
    # Not a number (`${PORT}` left when interpolation is off, say): the short-syntax parser or the engine
    # says what is wrong with it; only a number out of range is refused here.
    return not (text.isascii() and text.isdigit()) or int(text) <= PORT_MAX


def ulimit(value: Any, path: DocPath, mark: Mark | None) -> Any:
    """A ulimit: one number, or `soft` and `hard`; each -1 (unlimited) or more, soft not above hard."""
    if isinstance(value, MDict):
        soft, hard = value.get("soft"), value.get("hard")
        for key, number in (("soft", soft), ("hard", hard)):
            _ulimit_value(number, (*path, key), value.mark_of(key) or mark)
        if isinstance(soft, int) and isinstance(hard, int) and _limit(soft) > _limit(hard):
            raise fail(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}",
                       path, value.mark_of("soft") or mark)
        return value
    _ulimit_value(value, path, mark)
    return value


def _ulimit_value(number: Any, path: DocPath, mark: Mark | None) -> None:
    if isinstance(number, int) and not isinstance(number, bool) and not UNLIMITED <= number <= INT64_MAX:
        raise fail(f"invalid ulimit value {number}: must be -1 (unlimited) or more, and fit in 64 bits",
                   path, mark)


def _limit(number: int) -> float:
    return math.inf if number == UNLIMITED else number


def retries(value: Any, path: DocPath, mark: Mark | None) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise fail("Retries in Healthcheck cannot be negative", path, mark)
    return value
