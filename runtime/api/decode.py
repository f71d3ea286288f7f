"""Every request's parameters and JSON body, decoded into typed values before a handler runs.

The Router calls `Decoder.prepare` once it knows the route. Keyed on the
route's method and pattern, the decoder finds the Engine API operation in the
table compiled from the spec (spec_types.json, see spec_compile) and:

- refuses a NUL byte in any path or query parameter (no name or path holds one);
- types the operation's query parameters as dockerd reads them: booleans as
  its BoolValue (`1`, `true`, `True`…; anything but ``/0/no/false/none``),
  integers as strconv.Atoi (a 400 with its message otherwise), names at most
  255 bytes (`request.values`);
- reads a JSON body, parses it safely (jsonparse: depth, NaN) and decodes it
  into the shape of dockerd's Go type (typed), which `request.json()` then
  returns. A wrong type is a 400 with Go's message, before anything acts on it.

A route the spec does not know gets the first point, and its JSON body the
safe parse. Routes added later need nothing more than their `Route(...)` line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.api import jsonparse
from runtime.api.errors import bad_request
from runtime.api.http import Request, bool_value
from runtime.api.typed import NAME_MAX, Mismatch, Type, build, build_table

TABLE = Path(__file__).with_name("spec_types.json")
_ATOI = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)
_PLACEHOLDER = re.compile(r"{(\w+)(:[^}]*)?}")


def pattern_key(method: str, path: str) -> str:
    """`GET /images/{name}/json`, whatever the placeholders' spelling (`{name:.*}` in routes)."""
    return method.upper() + " " + _PLACEHOLDER.sub(r"{\1}", path)


@dataclass(frozen=True)
class Operation:
    id: str
    query: Mapping[str, str] = field(default_factory=dict)  # name -> bool, int, string, array, name
    body: Type | None = None


UNKNOWN = Operation("")


class Decoder:
    def __init__(self, operations: Mapping[str, Operation]) -> None:
        self.operations = operations

    @classmethod
    def load(cls, path: Path = TABLE) -> Decoder:
        """The decoder of the committed table (built once, when the engine starts)."""
        table = json.loads(path.read_text())
        types = build_table(table["types"])
        operations = {
            key: Operation(op["id"], op["query"], build(op["body"], types) if "body" in op else None)
            for key, op in table["operations"].items()
        }
        return cls(operations)

    def operation(self, method: str, pattern: str) -> Operation:
        return self.operations.get(pattern_key(method, pattern), UNKNOWN)

    async def prepare(self, op: Operation, request: Request) -> None:
        for name, value in request.params.items():
            if "\x00" in value:
                raise bad_request(f"invalid parameter {name}: it contains a NUL byte")
        values: dict[str, Any] = {}
        for name, texts in request.query.items():
            for text in texts:
                if "\x00" in text:
                    raise bad_request(f"invalid query parameter {name}: it contains a NUL byte")
            kind = op.query.get(name)
            if kind is not None:
                values[name] = query_value(name, kind, texts)
        request.values = values
        if op.body is not None:
            request.decoded = decode_body(op.body, await request.read())


def query_value(name: str, kind: str, texts: list[str]) -> Any:
    if kind == "array":
        return list(texts)
    text = texts[0] if texts else ""
    if kind == "bool":
        return bool_value(text)
    if kind == "int":
        if text == "":
            return None
        if not _ATOI.fullmatch(text):
            raise bad_request(f'strconv.Atoi: parsing "{text}": invalid syntax')
        number = int(text)
        if not _INT64[0] <= number <= _INT64[1]:
            raise bad_request(f'strconv.Atoi: parsing "{text}": value out of range')
        return number
    if kind == "name" and len(text.encode()) > NAME_MAX:
        raise bad_request(f"invalid {name}: {len(text.encode())} bytes long, at most {NAME_MAX}")
    return text


def decode_body(of: Type, data: bytes) -> Any:
    """The body as the operation's Go type; None when it is empty (Docker allows that)."""
    if not data.strip():
        return None
    value = jsonparse.loads(data)
    try:
        return of.decode(value)
    except Mismatch as exc:
        message = exc.message()
        raise bad_request(message if exc.detail else f"invalid JSON: {message}") from None
