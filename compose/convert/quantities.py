"""Compose durations, CPU counts and byte sizes as Kubernetes wants them."""

from __future__ import annotations

import math
from typing import Any

from compose.loader.units import parse_bytes, parse_duration


def seconds(value: Any, minimum: int = 0) -> int:
    """Whole seconds, rounded up (a probe's period cannot be shorter than asked)."""
    return max(minimum, math.ceil(parse_duration(value) / 1_000_000_000))


def cpu(value: Any) -> str:
    """A CPU count (0.5) as millicores ("500m"), whole counts as they are ("2")."""
    milli = round(float(value) * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory(value: Any) -> str:
    """Bytes (compose normalizes `256M` to "268435456") in the largest exact binary unit."""
    size = parse_bytes(value)
    for unit, factor in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
