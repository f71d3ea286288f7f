"""Split a command string into words the way Docker Compose does (go-shellwords, no env, no backticks).

Differences from `shlex.split` that users can see: `\\t` and `\\n` escapes
become tab and newline, words stop at the first unquoted `;`, `&`, `|`, `<`
or `>` (the rest is dropped, as compose drops it), and an unquoted `(` that
does not open `$(` is an error.
"""

from __future__ import annotations

_SPACE = frozenset(" \t\r\n")
_STOP = frozenset(";&|<>")
_ESCAPES = {"t": "\t", "n": "\n"}


def split_command(line: str) -> list[str]:
    """The words of `line`; ValueError("invalid command line string") when quotes are unbalanced."""
    args: list[str] = []
    buf = ""
    got = False  # a word (possibly empty, from quotes) is being built
    escaped = single = double = backquote = dollar = False
    for char in line:
        if escaped:
            escaped = False
            buf += "\\" + char if backquote or dollar else _ESCAPES.get(char, char)
            got = True
            continue
        if char == "\\":
            if single:
                buf += char
            else:
                escaped = True
            continue
        if char in _SPACE:
            if single or double or backquote or dollar:
                buf += char
            elif got:
                args.append(buf)
                buf, got = "", False
            continue
        quoted = single or double or backquote
        if char == "`" and not (single or double or dollar):
            backquote = not backquote
        elif char == ")" and not quoted:
            if not dollar:
                raise ValueError("invalid command line string")
            dollar = False
        elif char == "(" and not quoted:
            if dollar or not buf.endswith("$"):
                raise ValueError("invalid command line string")
            dollar = True
            buf += char
            continue
        elif char == '"' and not (single or dollar or backquote):
            double = not double
            got = True
            continue
        elif char == "'" and not (double or dollar or backquote):
            single = not single
            got = True
            continue
        elif char in _STOP and not (quoted or dollar):
            if char == ">" and buf.isdigit() and buf.isascii():
                buf, got = "", False  # `2>&1`: the fd number belongs to the redirection
            break
        got = True
        buf += char
    if escaped or single or double or backquote or dollar:
        raise ValueError("invalid command line string")
    if got:
        args.append(buf)
    return args
