"""`.dockerignore`: moby/patternmatcher's reading and matching rules, pure.

Reading (`read_patterns`): a line whose first character is `#` is a comment;
others are trimmed, a leading `!` marks an exception, the rest is cleaned as
Go's `filepath.Clean` and a leading `/` dropped; `.` and empty lines are
skipped. Matching (`Matcher.excluded`): each pattern becomes an anchored
regular expression (`*` and `?` never cross `/`, `**` crosses any number of
folders, `\\` escapes, `[...]` classes as they are); a path is excluded when
the last pattern that matches it (or one of its parent folders) is not an
exception. A lone `!` is an error, as in patternmatcher.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from compose.errors import ComposeError


def clean(path: str) -> str:
    """Go's `filepath.Clean` on a slash path."""
    if not path:
        return "."
    out = posixpath.normpath(path)
    return "/" + out.lstrip("/") if out.startswith("/") else out


def read_patterns(text: str) -> list[str]:
    """The patterns of a `.dockerignore` file, as patternmatcher's `ignorefile.ReadAll`."""
    out = []
    for number, raw in enumerate(text.splitlines()):
        if number == 0:
            raw = raw.removeprefix("\ufeff")
        if raw.startswith("#"):
            continue
        pattern = raw.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    out = "^"
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out += ".*" if i >= n else "(.*/)?"
                continue
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\":
            i += 1
            if i < n:
                out += re.escape(pattern[i])
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ComposeError(f".dockerignore: syntax error in pattern {pattern!r}")
            body = pattern[i + 1:end]
            out += "[" + ("^" + body[1:] if body.startswith(("!", "^")) else body).replace("\\", "\\\\") + "]"
            i = end
        else:
            out += re.escape(ch)
        i += 1
    try:
        return re.compile(out + "$", re.DOTALL)
    except re.error:
        raise ComposeError(f".dockerignore: syntax error in pattern {pattern!r}") from None


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]


class Matcher:
    """Compiled patterns; `excluded(path)` for a slash path relative to the context."""

    def __init__(self, patterns: Iterable[str]) -> None:
        compiled = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise ComposeError('.dockerignore: illegal exclusion pattern: "!"')
                text = text[1:]
            text = clean(text)
            if text == ".":
                continue
            compiled.append(Pattern(text, exclusion, _regex(text)))
        self.patterns: tuple[Pattern, ...] = tuple(compiled)

    @property
    def has_exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """patternmatcher's `MatchesOrParentMatches`."""
        path = clean(path)
        parent = posixpath.dirname(path) or "."
        parents = parent.split("/")
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = bool(pattern.regex.match(path))
            if not hit and parent != ".":
                hit = any(pattern.regex.match("/".join(parents[: i + 1])) for i in range(len(parents)))
            if hit:
                matched = not pattern.exclusion
        return matched

    def may_hold_exception(self, directory: str) -> bool:
        """Whether the walk goes into an excluded `directory`: an exception's text starts with it (the
        docker CLI's rule, a prefix test: a wildcard exception does not reopen an excluded folder)."""
        prefix = clean(directory) + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)


def ignore_file(context: Path, dockerfile: Path | None) -> Path | None:
    """`<Dockerfile>.dockerignore` beside the Dockerfile, else the context's `.dockerignore`."""
    if dockerfile is not None:
        beside = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if beside.is_file():
            return beside
    root = context / ".dockerignore"
    return root if root.is_file() else None


def load_matcher(context: Path, dockerfile: Path | None) -> Matcher:
    found = ignore_file(context, dockerfile)
    if found is None:
        return Matcher(())
    try:
        return Matcher(read_patterns(found.read_text(errors="replace")))
    except OSError as exc:
        raise ComposeError(f"{found}: {exc.strerror}") from None
