"""The one error type of Dockerfile parsing, with the line it is about, worded as dockerd words it.

`DockerfileError(line, message)` prints as dockerd's classic builder does:
`dockerfile parse error on line 12: unknown instruction: FOO`. Errors found while
reading lines (directives, heredocs, an empty file) are reported by dockerd as
`failed to parse Dockerfile: <message>` (kind "scan"), and a few as the bare message
(kind "plain", e.g. "no build stage in current context"); a zero-byte file is
"the Dockerfile (<name>) cannot be empty" (kind "empty"). `.line` and `.message`
are there for callers that print `path:LINE: message` (compose).
`WordError` is what variable substitution raises (no line: the caller knows it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Kind = Literal["instruction", "scan", "plain", "empty"]


class DockerfileError(Exception):
    def __init__(self, line: int, message: str, *, kind: Kind = "instruction", end_line: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.end_line = end_line or line
        self.message = message
        self.kind: Kind = kind

    def text(self, name: str = "Dockerfile") -> str:
        """dockerd's wording; `name` is the Dockerfile's name as the client gave it."""
        if self.kind == "instruction":
            return f"dockerfile parse error on line {self.line}: {self.message}"
        if self.kind == "scan":
            return f"failed to parse {name}: {self.message}"
        if self.kind == "empty":
            return f"the Dockerfile ({name}) cannot be empty"
        return self.message

    def __str__(self) -> str:
        return self.text()


class WordError(ValueError):
    """A word that cannot be expanded (`${x`, an unmatched quote, `${x:?unset}`)."""


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def suggest(value: str, options: Iterable[str], *, case_sensitive: bool) -> str:
    """buildkit's " (did you mean x?)" suffix: the closest option at distance 1 or 2, else ""."""
    probe = value if case_sensitive else value.lower()
    best, best_distance = "", 3
    for option in sorted(options):
        candidate = option if case_sensitive else option.lower()
        if candidate == probe:
            return ""
        distance = levenshtein(probe, candidate)
        if distance < best_distance:
            best, best_distance = candidate, distance
    if not best:
        return ""
    if not case_sensitive:
        if value == value.upper() and value != value.lower():
            best = best.upper()
        elif value != value.lower():
            best = best.lower()
    return f" (did you mean {best}?)"
