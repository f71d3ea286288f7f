"""Filters of `images ls` and `image prune`, as pure functions over plain values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from runtime.images.docker_json import parse_time
from runtime.images.errors import ImageInvalid

Filters = Mapping[str, Sequence[str]]
LIST_KEYS = frozenset({"reference", "dangling", "label", "before", "since", "until"})
PRUNE_KEYS = frozenset({"dangling", "label", "label!", "until"})
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def check_keys(filters: Filters, allowed: frozenset[str]) -> None:
    for key in filters:
        if key not in allowed:
            raise ImageInvalid(f"invalid filter '{key}'")


def parse_bool(key: str, values: Sequence[str]) -> bool | None:
    """The one boolean a filter may hold (None when absent)."""
    found = {v.lower() for v in values}
    if not found:
        return None
    if found <= {"true", "1"}:
        return True
    if found <= {"false", "0"}:
        return False
    raise ImageInvalid(f"invalid filter '{key}={','.join(values)}'")


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Go's path.Match: `*` and `?` never cross a `/`; `[...]` classes with `^` negation."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise ImageInvalid(f"invalid reference filter pattern {pattern!r}")
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                body = "^/" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def glob_match(pattern: str, text: str) -> bool:
    return _glob_regex(pattern).fullmatch(text) is not None


def matching_refs(patterns: Sequence[str], refs: Iterable[str]) -> list[str]:
    """The familiar refs (`busybox:latest`) that one of the patterns matches, whole or by name."""
    hits = []
    for ref in refs:
        name = re.split(r"[@:](?=[^/]*$)", ref, maxsplit=1)[0]
        if any(glob_match(p, ref) or glob_match(p, name) for p in patterns):
            hits.append(ref)
    return hits


def parse_until(value: str, now: float) -> float:
    """A Unix timestamp, an RFC 3339 date/time, or a Go duration before `now`."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text and _DURATION.sub("", text) == "":
        return now - sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
    ts = parse_time(text) if "T" in text else parse_time(text + "T00:00:00Z")
    if ts is None:
        raise ImageInvalid(f"invalid filter 'until={value}': not a timestamp or duration")
    return ts
