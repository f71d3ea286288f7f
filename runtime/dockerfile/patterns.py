"""Shell wildcard patterns of `${v#p} ${v%p} ${v/p/r}` (`*`, `?`, `\\x`; no brackets), as buildkit."""

from __future__ import annotations

import re

from runtime.dockerfile.errors import WordError


def pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell wildcard pattern (`*`, `?`, `\\x`; no brackets) as a regex."""
    out = ["^"] if anchored else []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(".*" if greedy else ".*?")
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = pattern[i] if i < len(pattern) else ""
            if following in ("}", "/"):
                continue
            i += 1
            if following not in ("*", "?", "\\"):
                raise WordError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{following}'")
            out.append("\\" + following)
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out))


def trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[match.end():] if match else value


def reverse_pattern(pattern: str) -> str:
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i:i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    return trim_prefix(reverse_pattern(pattern), value[::-1], greedy)[::-1]
