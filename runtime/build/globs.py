"""Go's `filepath.Match` (on Unix), the glob rules of COPY/ADD sources and `--exclude`.

    pattern   { term }
    term      '*'  any run of non-'/' characters
              '?'  one non-'/' character
              '[' ['^'] { range } ']'   a class (non-empty); `lo-hi` ranges, `\\` escapes
              '\\' c   the character c
              c    itself

The whole name must match. A malformed pattern raises ValueError("syntax error in
pattern"), as Go's ErrBadPattern, also when the bad part comes after a mismatch
(Go checks the rest of the pattern before answering False).
"""

from __future__ import annotations

BAD_PATTERN = "syntax error in pattern"
_WILDCARDS = frozenset("*?[")


def has_wildcards(pattern: str) -> bool:
    """Whether `pattern` holds an unescaped `*`, `?` or `[` (Docker's containsWildcards)."""
    escaped = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in _WILDCARDS:
            return True
    return False


def unescape(pattern: str) -> str:
    """A pattern without wildcards as the plain name it matches (`\\x` -> `x`)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            i += 1
        out.append(pattern[i])
        i += 1
    return "".join(out)


def match(pattern: str, name: str) -> bool:
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name  # a trailing star matches the rest of this component
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            # The star takes name[:i + 1]; the chunk must then match what follows.
            matched = False
            i = 0
            while i < len(name) and name[i] != "/":
                rest = _match_chunk(chunk, name[i + 1:])
                if rest is not None and (pattern or not rest):
                    name = rest
                    matched = True
                    break
                i += 1
            if matched:
                continue
        # No match: the rest of the pattern must still be well formed.
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    """Leading stars, then the chunk up to the next star outside a class, then the rest."""
    star = False
    while pattern.startswith("*"):
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: str, s: str) -> str | None:
    """What of `s` is left after `chunk` matched its start; None on no match. Raises on a bad chunk."""
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        head = chunk[0]
        if head == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            found = False
            ranges = 0
            while True:
                if chunk.startswith("]") and ranges > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= r <= hi:
                    found = True
                ranges += 1
            if found == negated:
                failed = True
        elif head == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise ValueError(BAD_PATTERN)
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


def _get_esc(chunk: str) -> tuple[str, str]:
    """One character of a class (escapes honoured) and the chunk after it."""
    if not chunk or chunk[0] in "-]":
        raise ValueError(BAD_PATTERN)
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise ValueError(BAD_PATTERN)
    ch, rest = chunk[0], chunk[1:]
    if not rest:
        raise ValueError(BAD_PATTERN)
    return ch, rest


class Excluder:
    """`--exclude` patterns as moby/patternmatcher reads them: `filepath.Match` per path
    component, `**` for any number of components, `!` exceptions, the last match wins,
    and a path is excluded when it or one of its parent directories is."""

    def __init__(self, patterns: tuple[str, ...] | list[str]) -> None:
        self._rules: list[tuple[bool, list[str]]] = []
        for raw in patterns:
            negate = raw.startswith("!")
            text = raw[1:] if negate else raw
            cleaned = "/".join(p for p in text.strip("/").split("/") if p not in ("", "."))
            if not cleaned:
                if negate:
                    raise ValueError("illegal exclusion pattern: \"!\"")
                continue
            parts = cleaned.split("/")
            for part in parts:
                if part != "**":
                    match(part, "")  # raises on a malformed pattern, before any file is read
            self._rules.append((negate, parts))

    def __bool__(self) -> bool:
        return bool(self._rules)

    def excluded(self, path: str) -> bool:
        """Whether the slash-separated relative `path` is excluded."""
        names = [p for p in path.split("/") if p]
        verdict = False
        for negate, parts in self._rules:
            if any(_match_parts(parts, names[:n]) for n in range(1, len(names) + 1)):
                verdict = not negate
        return verdict


def _match_parts(parts: list[str], names: list[str]) -> bool:
    if not parts:
        return not names
    if parts[0] == "**":
        return any(_match_parts(parts[1:], names[i:]) for i in range(len(names) + 1))
    return bool(names) and match(parts[0], names[0]) and _match_parts(parts[1:], names[1:])
