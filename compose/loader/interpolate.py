"""Interpolation: `$VAR` / `${VAR:-default}` in compose values, then type casts.

The grammar is compose-go's template language: `$NAME`, `${NAME}`, and the
braced operators `:-` `-` (default), `:?` `?` (required), `:+` `+`
(alternative), with `$$` for a literal `$`. Defaults, messages and
alternatives are templates themselves and are only evaluated when used, so
`${A:-${B:?}}` fails only if A is missing. Keys are never interpolated.

After substitution, strings at the paths in `CAST_PATHS` become ints, floats
or booleans, as compose-go does, so `replicas: ${N}` validates as an integer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from compose.errors import ComposeFileError, Mark, format_path, warn
from compose.loader.marks import MDict, MList, mark_of

Lookup: TypeAlias = Callable[[str], "str | None"]
Caster: TypeAlias = Callable[[str, "Mark | None"], Any]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = re.compile(r"[${}]")
# Longer operators first: `:-` must not be read as an invalid `:`.
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
# Deeper nesting than this is certainly a mistake, and it bounds recursion.
_MAX_NESTING = 50


@dataclass(frozen=True)
class _Var:
    name: str
    op: str  # "" for `$NAME` / `${NAME}`
    arg: tuple[_Node, ...]


_Node: TypeAlias = "str | _Var"


class _InvalidTemplate(Exception):
    pass


def _parse(text: str, pos: int, nesting: int) -> tuple[list[_Node], int]:
    """Nodes of text[pos:], up to the end or, when nested, up to the `}` closing it."""
    nodes: list[_Node] = []
    literal: list[str] = []

    def flush() -> None:
        if any(literal):
            nodes.append("".join(literal))
        literal.clear()

    braces = 0  # plain `{`…`}` pairs inside a default, e.g. JSON
    while (found := _SPECIAL.search(text, pos)) is not None:
        at = found.start()
        literal.append(text[pos:at])
        char = text[at]
        pos = at + 1
        if char == "$":
            following = text[at + 1:at + 2]
            name = _NAME.match(text, at + 1)
            if following == "$":
                literal.append("$")
                pos = at + 2
            elif following == "{":
                flush()
                var, pos = _parse_braced(text, at + 2, nesting + 1)
                nodes.append(var)
            elif name is not None:
                flush()
                nodes.append(_Var(name.group(), "", ()))
                pos = name.end()
            else:
                literal.append("$")  # `$1`, `$-`, a trailing `$`: literal, as in compose-go
            continue
        if nesting and char == "}":
            if braces == 0:
                flush()
                return nodes, at
            braces -= 1
        elif nesting and char == "{":
            braces += 1
        literal.append(char)
    if nesting:
        raise _InvalidTemplate
    literal.append(text[pos:])
    flush()
    return nodes, len(text)


def _parse_braced(text: str, pos: int, nesting: int) -> tuple[_Var, int]:
    """The `${...}` whose name starts at pos; returns it and the index after its `}`."""
    if nesting > _MAX_NESTING:
        raise _InvalidTemplate
    name = _NAME.match(text, pos)
    if name is None:
        raise _InvalidTemplate
    pos = name.end()
    if text.startswith("}", pos):
        return _Var(name.group(), "", ()), pos + 1
    for op in _OPERATORS:
        if text.startswith(op, pos):
            arg, close = _parse(text, pos + len(op), nesting)
            return _Var(name.group(), op, tuple(arg)), close + 1
    raise _InvalidTemplate


@dataclass
class _Context:
    lookup: Lookup
    mark: Mark | None
    path: str | None
    warned: set[str]

    def render(self, nodes: tuple[_Node, ...] | list[_Node]) -> str:
        return "".join(node if isinstance(node, str) else self.resolve(node) for node in nodes)

    def resolve(self, var: _Var) -> str:
        value = self.lookup(var.name)
        if not var.op:
            if value is None:
                if var.name not in self.warned:
                    self.warned.add(var.name)
                    warn(f'The "{var.name}" variable is not set. Defaulting to a blank string.', self.mark)
                return ""
            return value
        missing = value is None or (var.op.startswith(":") and value == "")
        kind = var.op[-1]
        if kind == "-":
            return self.render(var.arg) if value is None or missing else value
        if kind == "+":
            return (value or "") if missing else self.render(var.arg)
        if missing:
            reason = self.render(var.arg)
            message = f"required variable {var.name} is missing a value"
            raise ComposeFileError(f"{message}: {reason}" if reason else message, self.mark, self.path)
        return value or ""


def substitute(text: str, lookup: Lookup, mark: Mark | None = None, path: str | None = None,
               *, warned: set[str] | None = None) -> str:
    """`text` with its variables replaced; `lookup` returns None for unset.

    An unset variable without default becomes "" with one warning per name
    (per `warned` set, if the caller shares one across values).
    """
    if "$" not in text:
        return text
    try:
        nodes, _ = _parse(text, 0, 0)
    except _InvalidTemplate:
        raise ComposeFileError(
            f"invalid interpolation format {_shortened(text)!r} (you may need to escape any $ with another $)",
            mark, path,
        ) from None
    return _Context(lookup, mark, path, set() if warned is None else warned).render(nodes)


def _shortened(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def interpolate(doc: Any, env: Mapping[str, str]) -> Any:
    """`doc` with every string value substituted from `env` and cast where typed.

    Containers are copied (positions kept) only where something below changed;
    unchanged parts are shared, as no stage mutates a document.
    """
    return _Interpolation(env.get, set()).value(doc, (), None, [_CAST_TRIE])


class _Interpolation:
    def __init__(self, lookup: Lookup, warned: set[str]) -> None:
        self.lookup = lookup
        self.warned = warned

    def value(self, value: Any, path: tuple[str | int, ...], mark: Mark | None, casts: list[_CastNode]) -> Any:
        if isinstance(value, Mapping):
            items = [(key, self.value(item, (*path, key), mark_of(value, key) or mark, _below(casts, key)))
                     for key, item in value.items()]
            if all(a is b for a, (_, b) in zip(value.values(), items, strict=True)):
                return value
            return value.derive(items) if isinstance(value, MDict) else dict(items)
        if isinstance(value, list):
            values = [self.value(item, (*path, index), mark_of(value, index) or mark, _below(casts, index))
                      for index, item in enumerate(value)]
            if all(a is b for a, b in zip(value, values, strict=True)):
                return value
            return value.derive(values) if isinstance(value, MList) else values
        if isinstance(value, str):
            return self.string(value, path, mark, casts)
        return value

    def string(self, value: str, path: tuple[str | int, ...], mark: Mark | None, casts: list[_CastNode]) -> Any:
        caster = next((c.caster for c in casts if c.caster is not None), None)
        if "$" not in value and caster is None:
            return value
        where = format_path(path) or None
        result = substitute(value, self.lookup, mark, where, warned=self.warned)
        if caster is None:
            return result
        try:
            return caster(result, mark)
        except ValueError as exc:
            raise ComposeFileError(str(exc), mark, where) from None


# --- casts -----------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT64 = 1 << 63
_TRUE = ("y", "yes", "on")
_FALSE = ("n", "no", "off")


def to_int(text: str, mark: Mark | None = None) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f'invalid integer "{text}"')
    number = int(text)
    if not -_INT64 <= number < _INT64:
        raise ValueError(f'integer "{text}" is out of range')
    return number


def to_float(text: str, mark: Mark | None = None) -> float:
    if not _FLOAT.fullmatch(text):
        raise ValueError(f'invalid number "{text}"')
    return float(text)


def to_bool(text: str, mark: Mark | None = None) -> bool:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in _TRUE or low in _FALSE:
        # compose-go accepts YAML 1.1 spellings here but asks for the 1.2 ones.
        meant = low in _TRUE
        warn(f'"{text}" for boolean is not supported by YAML 1.2, please use `{str(meant).lower()}`', mark)
        return meant
    raise ValueError(f'invalid boolean "{text}" (expected true or false)')


# Where a string is cast after interpolation ("*" any key, "[]" any list item).
# compose-go's table (loader/interpolate.go).
_S = ("services", "*")
CAST_PATHS: tuple[tuple[tuple[str, ...], Caster], ...] = (
    ((*_S, "cpu_count"), to_int),
    ((*_S, "cpu_percent"), to_float),
    ((*_S, "cpu_period"), to_int),
    ((*_S, "cpu_quota"), to_int),
    ((*_S, "cpu_rt_period"), to_int),
    ((*_S, "cpu_rt_runtime"), to_int),
    ((*_S, "cpus"), to_float),
    ((*_S, "cpu_shares"), to_int),
    ((*_S, "init"), to_bool),
    ((*_S, "depends_on", "*", "required"), to_bool),
    ((*_S, "depends_on", "*", "restart"), to_bool),
    ((*_S, "deploy", "replicas"), to_int),
    ((*_S, "deploy", "update_config", "parallelism"), to_int),
    ((*_S, "deploy", "update_config", "max_failure_ratio"), to_float),
    ((*_S, "deploy", "rollback_config", "parallelism"), to_int),
    ((*_S, "deploy", "rollback_config", "max_failure_ratio"), to_float),
    ((*_S, "deploy", "restart_policy", "max_attempts"), to_int),
    ((*_S, "deploy", "placement", "max_replicas_per_node"), to_int),
    ((*_S, "healthcheck", "retries"), to_int),
    ((*_S, "healthcheck", "disable"), to_bool),
    ((*_S, "oom_kill_disable"), to_bool),
    ((*_S, "oom_score_adj"), to_int),
    ((*_S, "pids_limit"), to_int),
    ((*_S, "ports", "[]", "target"), to_int),
    ((*_S, "privileged"), to_bool),
    ((*_S, "read_only"), to_bool),
    ((*_S, "scale"), to_int),
    ((*_S, "stdin_open"), to_bool),
    ((*_S, "tty"), to_bool),
    ((*_S, "ulimits", "*"), to_int),
    ((*_S, "ulimits", "*", "hard"), to_int),
    ((*_S, "ulimits", "*", "soft"), to_int),
    ((*_S, "volumes", "[]", "read_only"), to_bool),
    ((*_S, "volumes", "[]", "volume", "nocopy"), to_bool),
    (("networks", "*", "external"), to_bool),
    (("networks", "*", "internal"), to_bool),
    (("networks", "*", "attachable"), to_bool),
    (("networks", "*", "enable_ipv4"), to_bool),
    (("networks", "*", "enable_ipv6"), to_bool),
    (("volumes", "*", "external"), to_bool),
    (("secrets", "*", "external"), to_bool),
    (("configs", "*", "external"), to_bool),
)


class _CastNode:
    """A step of CAST_PATHS as a trie, followed down the document by the walk."""

    __slots__ = ("caster", "children")

    def __init__(self) -> None:
        self.children: dict[str, _CastNode] = {}
        self.caster: Caster | None = None


def _cast_trie() -> _CastNode:
    root = _CastNode()
    for pattern, caster in CAST_PATHS:
        node = root
        for step in pattern:
            node = node.children.setdefault(step, _CastNode())
        node.caster = node.caster or caster
    return root


_CAST_TRIE = _cast_trie()


def _below(states: list[_CastNode], key: str | int) -> list[_CastNode]:
    if not states:
        return states
    if isinstance(key, int):
        return [s.children["[]"] for s in states if "[]" in s.children]
    out = [s.children[key] for s in states if key in s.children]
    out += [s.children["*"] for s in states if "*" in s.children]
    return out
