"""The small part of Go's text/template that `docker … --format` users rely on.

Supported actions: `{{.}}`, `{{.Field}}`, `{{.A.B}}`, and the functions
`json`, `join`, `upper`, `lower`, `title`, `split`, `truncate`, `println`,
`pad`, called as `{{json .Config}}` or piped as `{{.Names | upper}}`.
Values print the way Go prints them (`[a b]`, `map[k:v]`, `<nil>`,
`<no value>`), so scripts written for docker read the same text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_ACTION = re.compile(r"{{(-?)\s*(.*?)\s*(-?)}}", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|]+')


class TemplateError(ValueError):
    """A template this implementation cannot parse or run (one line, for the CLI)."""


def go_text(value: Any) -> str:
    """A value as Go's fmt prints it with %v."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value)) if abs(value) < 1e6 else f"{value:g}"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{go_text(k)}:{go_text(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_text(v) for v in value) + "]"
    return str(value)


def go_json(value: Any, escape_html: bool = False) -> str:
    """Compact JSON as Go's encoder writes it (`escape_html` as json.Marshal has it)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if escape_html:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _join(items: Any, sep: str) -> str:
    if not isinstance(items, Sequence) or isinstance(items, str):
        return go_text(items)
    return sep.join(go_text(i) for i in items)


def _truncate(text: Any, width: Any) -> str:
    return go_text(text)[: int(width)]


def _pad(text: Any, before: Any, after: Any) -> str:
    return " " * int(before) + go_text(text) + " " * int(after)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": go_json,
    "join": _join,
    "upper": lambda s: go_text(s).upper(),
    "lower": lambda s: go_text(s).lower(),
    "title": lambda s: go_text(s).title(),
    "split": lambda s, sep: go_text(s).split(sep),
    "truncate": _truncate,
    "println": lambda *args: " ".join(go_text(a) for a in args) + "\n",
    "pad": _pad,
}


def _field(data: Any, path: str) -> Any:
    value = data
    for name in path.split(".")[1:]:
        if not name:
            continue
        if isinstance(value, Mapping):
            if name not in value:
                return _NoValue
            value = value[name]
        else:
            raise TemplateError(f"template: can't evaluate field {name} in {type(value).__name__}")
    return value


class _NoValueType:
    def __str__(self) -> str:
        return "<no value>"


_NoValue = _NoValueType()


def _literal(token: str, data: Any) -> Any:
    if token.startswith("."):
        return _field(data, token)
    if token.startswith('"'):
        return json.loads(token)
    if token.startswith("`"):
        return token[1:-1]
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    if token in ("true", "false"):
        return token == "true"
    raise TemplateError(f'template: function "{token}" not defined')


def _command(tokens: list[str], data: Any, piped: list[Any]) -> Any:
    head, args = tokens[0], tokens[1:]
    if head in FUNCTIONS:
        values = [_literal(t, data) for t in args] + piped
        try:
            return FUNCTIONS[head](*values)
        except TypeError as exc:
            raise TemplateError(f"template: wrong arguments for {head}: {exc}") from None
    if args or piped:
        raise TemplateError(f"template: can't give arguments to non-function {head}")
    return _literal(head, data)


def _pipeline(action: str, data: Any) -> Any:
    tokens = _TOKEN.findall(action)
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token == "|":
            commands.append([])
        else:
            commands[-1].append(token)
    if any(not c for c in commands):
        raise TemplateError(f"template: missing command in {{{{{action}}}}}")
    value = _command(commands[0], data, [])
    for command in commands[1:]:
        value = _command(command, data, [value])
    return value


def render(template: str, data: Any) -> str:
    """Execute `template` against `data` (mappings, lists, scalars from JSON)."""
    out: list[str] = []
    pos = 0
    for match in _ACTION.finditer(template):
        text = template[pos : match.start()]
        if match.group(1):
            text = text.rstrip()
        out.append(text)
        value = _pipeline(match.group(2), data)
        out.append(str(value) if value is _NoValue else go_text(value))
        pos = match.end()
        if match.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    if "{{" in template[pos:]:
        raise TemplateError("template: unclosed action")
    out.append(template[pos:])
    return "".join(out)


def fields(template: str) -> list[str]:
    """The top-level field names a template uses, in order (for table headers)."""
    return [m.group(1) for m in re.finditer(r"{{-?\s*\.(\w+)", template)]


def unescape(template: str) -> str:
    """Docker lets users type `\\t` and `\\n` in --format."""
    return template.replace("\\t", "\t").replace("\\n", "\n")
