"""The variables a compose model uses, as compose-go's `template.ExtractVariables` finds them.

For `config --variables`: every `$NAME` and `${NAME…}` in the model's string
values (keys are not looked at, `$$` is an escaped dollar), with what the
expression says of it: `${X:-d}`/`${X-d}` a default, `${X:+a}`/`${X+a}` an
alternate (presence) value, `${X:?e}`/`${X?e}` required. Variables inside a
default or alternate value count too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z0-9_]*")


@dataclass(frozen=True)
class Variable:
    name: str
    default: str = ""
    presence: str = ""
    required: bool = False


def extract_variables(model: Any) -> dict[str, Variable]:
    """By name, sorted; a later occurrence of a name replaces an earlier one (as compose-go's map)."""
    found: dict[str, Variable] = {}
    for text in _strings(model):
        for variable in _in_text(text):
            found[variable.name] = variable
    return dict(sorted(found.items()))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _closing(text: str, start: int) -> int:
    """Index of the `}` closing the `${` whose body starts at `start`, or -1."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _in_text(text: str) -> list[Variable]:
    out: list[Variable] = []
    i = 0
    while True:
        i = text.find("$", i)
        if i < 0 or i + 1 >= len(text):
            return out
        nxt = text[i + 1]
        if nxt == "$":
            i += 2
            continue
        if nxt == "{":
            end = _closing(text, i + 2)
            if end < 0:
                return out
            out += _braced(text[i + 2:end])
            i = end + 1
            continue
        named = _NAME.match(text, i + 1)
        if named:
            out.append(Variable(named.group()))
            i = named.end()
        else:
            i += 1


def _braced(body: str) -> list[Variable]:
    word = _WORD.match(body)
    name = word.group() if word else ""
    if not name:
        return []
    rest = body[len(name):]
    default = presence = ""
    required = False
    for marker in (":?", "?", ":-", "-", ":+", "+"):
        if rest.startswith(marker):
            value = rest[len(marker):]
            if "?" in marker:
                required = True
            elif "-" in marker:
                default = value
            else:
                presence = value
            break
    out = [Variable(name, default, presence, required)]
    for nested in (default, presence):
        if nested:
            out += _in_text(nested)
    return out
