"""What dockerd's classic builder writes for each step (pure): the command its cache probe and
history carry (`created_by`), in Go's formatting.

- metadata steps: `<shell> #(nop)  CMD ["a" "b"]` (the comment is a separate word after
  `#(nop) `, hence two spaces; lists as Go's `%q`/`%v` print them);
- WORKDIR and COPY/ADD: `<shell> #(nop) WORKDIR /app`, `<shell> #(nop) COPY file:<hash> in /dst `;
- RUN: its command, prefixed `|N k=v…` (sorted) when build args are in scope.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def go_quote(text: str) -> str:
    """Go's strconv.Quote, near enough (JSON's escapes for control characters)."""
    return json.dumps(text, ensure_ascii=False)


def go_quote_list(items: Sequence[str]) -> str:
    """Go's `%q` of a []string: `["a" "b"]`."""
    return "[" + " ".join(go_quote(i) for i in items) + "]"


def go_list(items: Sequence[str]) -> str:
    """Go's `%v` of a []string: `[a b]`."""
    return "[" + " ".join(items) + "]"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String()."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return sign + _fraction(ns, 1000) + "µs"
    if ns < 1_000_000_000:
        return sign + _fraction(ns, 1_000_000) + "ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _fraction(rest, 10**9) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _fraction(value: int, unit: int) -> str:
    whole, part = divmod(value, unit)
    if not part:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{part:0{digits}d}".rstrip("0")


def go_quote_rune(n: int) -> str:
    """Go's `%q` of an int (a rune literal): 3 -> '\\x03', 65 -> 'A'."""
    if 32 <= n < 127 and chr(n) not in "'\\":
        return f"'{chr(n)}'"
    if n in (7, 8, 9, 10, 11, 12, 13):
        return "'\\" + "abtnvfr"[n - 7] + "'"
    if n < 256:
        return f"'\\x{n:02x}'"
    return f"'\\u{n:04x}'"


def healthcheck_comment(health: Mapping[str, Any]) -> str:
    """`HEALTHCHECK &{["CMD-SHELL" "x"] "30s" "30s" "0s" "0s" '\\x03'}`, as `%q` of Docker's HealthConfig."""
    durations = [go_quote(go_duration(int(health.get(k) or 0)))
                 for k in ("Interval", "Timeout", "StartPeriod", "StartInterval")]
    return f"HEALTHCHECK &{{{go_quote_list(list(health.get('Test') or []))} {' '.join(durations)} " \
           f"{go_quote_rune(int(health.get('Retries') or 0))}}}"


def nop(shell: Sequence[str], comment: str) -> list[str]:
    """The probe command of a metadata step (two words: `#(nop) ` and the comment)."""
    return [*shell, "#(nop) ", comment]


def nop_string(shell: Sequence[str], comment: str) -> list[str]:
    """The probe command of WORKDIR and COPY/ADD (one word)."""
    return [*shell, "#(nop) " + comment]


def run_command(argv: Sequence[str], args: Mapping[str, str]) -> list[str]:
    """A RUN step's probe command: `|N k=v … argv` when build args are in scope."""
    if not args:
        return list(argv)
    return [f"|{len(args)}", *(f"{k}={args[k]}" for k in sorted(args)), *argv]


def created_by(cmd: Sequence[str]) -> str:
    return " ".join(cmd)
