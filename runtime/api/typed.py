"""Decoding a parsed JSON value into the shape of a dockerd Go type, as Go's encoding/json does.

A `Type` is built once from spec_types.json descriptors (spec_compile); its
`decode(value)` returns the value as the engine may use it, or raises a
`Mismatch` that `message()` turns into Go's text:

    json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Privileged of type bool

(Go >= 1.20: the innermost struct's name, then the field path from the root.)
What Go does, this does: keys match fields case-insensitively and come out
with the field's name; unknown keys are dropped; `null` leaves a field unset
(kept as None); integers must be integer literals within the Go type's range;
a strslice takes a string as a one-element list; a `[2]uint` keeps two
elements, padding with zeros. Beyond Go: a string with a NUL byte is refused
(no kernel interface takes one), lone surrogates become U+FFFD (as Go
decodes them), and names the engine makes files of are at most 255 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runtime.api.jsonparse import Literal

NAME_MAX = 255
_RANGES = {
    "int": (-(2**63), 2**63 - 1), "int64": (-(2**63), 2**63 - 1), "int32": (-(2**31), 2**31 - 1),
    "int16": (-(2**15), 2**15 - 1), "int8": (-128, 127), "uint": (0, 2**64 - 1), "uint64": (0, 2**64 - 1),
    "uint32": (0, 2**32 - 1), "uint16": (0, 2**16 - 1), "uint8": (0, 255),
}  # fmt: skip
_SURROGATE = re.compile("[\ud800-\udfff]")


class Mismatch(Exception):
    """A value Go would not decode into the type; `fields` is the path, innermost first."""

    def __init__(self, what: str, go: str, detail: str = "") -> None:
        super().__init__(what)
        self.what, self.go, self.detail = what, go, detail
        self.fields: list[str] = []
        self.struct = ""

    def message(self) -> str:
        if self.detail:
            where = ".".join(reversed(self.fields))
            return f"{where}: {self.detail}" if where else self.detail
        if not self.fields:
            return f"json: cannot unmarshal {self.what} into Go value of type {self.go}"
        path = ".".join(reversed(self.fields))
        return f"json: cannot unmarshal {self.what} into Go struct field {self.struct}.{path} of type {self.go}"


def kind_of(value: Any) -> str:
    """The JSON kind Go names in its errors."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "object"


def check_string(value: str, name: bool = False) -> str:
    """NUL bytes refused, lone surrogates replaced; for a name, at most NAME_MAX bytes."""
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    if "\x00" in value:
        raise Mismatch("string", "string", "invalid argument: the string contains a NUL byte")
    if name and len(value.encode()) > NAME_MAX:
        raise Mismatch("string", "string", f"name too long: {len(value.encode())} bytes, at most {NAME_MAX}")
    return value


class Type:
    go = ""
    zero: Any = None  # what `null` becomes as an element of a slice or a map (Go's zero value)

    def decode(self, value: Any) -> Any:
        raise NotImplementedError


class Any_(Type):
    go = "interface {}"

    def decode(self, value: Any) -> Any:
        return value


class Bool(Type):
    go = "bool"
    zero = False

    def decode(self, value: Any) -> Any:
        if value is None or value is True or value is False:
            return value
        raise Mismatch(kind_of(value), self.go)


class String(Type):
    go = "string"
    zero = ""

    def __init__(self, name: bool = False) -> None:
        self.name = name

    def decode(self, value: Any) -> Any:
        if type(value) is str:
            return check_string(value, self.name)
        if value is None:
            return None
        raise Mismatch(kind_of(value), self.go)


class Int(Type):
    zero = 0

    def __init__(self, go: str, base: str) -> None:
        self.go = go
        self.low, self.high = _RANGES[base]

    def decode(self, value: Any) -> Any:
        if type(value) is int:
            if self.low <= value <= self.high:
                return value
            raise Mismatch(f"number {value}", self.go)
        if isinstance(value, Literal):
            raise Mismatch(f"number {value.text}", self.go)
        if value is None:
            return None
        raise Mismatch(kind_of(value), self.go)


class Float(Type):
    go = "float64"
    zero = 0.0

    def decode(self, value: Any) -> Any:
        if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            return None if value is None else float(value)
        raise Mismatch(kind_of(value), self.go)


class Slice(Type):
    def __init__(self, go: str, of: Type) -> None:
        self.go, self.of = go, of

    def decode(self, value: Any) -> Any:
        if type(value) is list:
            item = self.of.decode
            out = [item(v) for v in value]
            return [self.of.zero if v is None else v for v in out] if None in out else out
        if value is None:
            return None
        raise Mismatch(kind_of(value), self.go)


class StrSlice(Slice):
    """strslice.StrSlice: a list of strings, or one string (which Go then reports errors against)."""

    def __init__(self, go: str) -> None:
        super().__init__(go, String())

    def decode(self, value: Any) -> Any:
        if type(value) is str:
            return [check_string(value)]
        if type(value) is list:
            return [check_string(v) if type(v) is str else "" if v is None else self._refuse() for v in value]
        if value is None:
            return None
        raise Mismatch(kind_of(value), "string")

    def _refuse(self) -> Any:
        raise Mismatch("array", "string")  # Go retries the whole value as a string


class Array(Type):
    """A Go array `[N]T`: extra elements are dropped, missing ones are zero."""

    def __init__(self, go: str, length: int, of: Type) -> None:
        self.go, self.length, self.of = go, length, of

    def decode(self, value: Any) -> Any:
        if type(value) is list:
            items = [self.of.decode(v) for v in value[: self.length]]
            return [self.of.zero if v is None else v for v in items] + [self.of.zero] * (self.length - len(items))
        if value is None:
            return None
        raise Mismatch(kind_of(value), self.go)


class Map(Type):
    def __init__(self, go: str, of: Type) -> None:
        self.go, self.of = go, of

    def decode(self, value: Any) -> Any:
        if type(value) is dict:
            item = self.of.decode
            out = {}
            for key, v in value.items():
                decoded = item(v)
                out[key if key.isascii() and "\x00" not in key else check_string(key)] = (
                    self.of.zero if decoded is None else decoded)
            return out
        if value is None:
            return None
        raise Mismatch(kind_of(value), self.go)


class Struct(Type):
    def __init__(self, name: str, go: str) -> None:
        self.name, self.go = name, go
        self.fields: dict[str, tuple[str, Type]] = {}  # exact name and lower-cased name -> field

    @property
    def zero(self) -> Any:
        return {}

    def add(self, field: str, of: Type) -> None:
        self.fields[field] = (field, of)
        self.fields.setdefault(field.lower(), (field, of))

    def decode(self, value: Any) -> Any:
        if type(value) is not dict:
            if value is None:
                return None
            raise Mismatch(kind_of(value), self.go)
        out = {}
        fields = self.fields
        for key, v in value.items():
            found = fields.get(key) or fields.get(key.lower())
            if found is None:
                continue  # Go ignores fields it does not know
            name, of = found
            try:
                out[name] = of.decode(v)
            except Mismatch as exc:
                exc.fields.append(name)
                exc.struct = exc.struct or self.name
                raise
        return out


class Ref(Type):
    """A named struct, resolved once every struct is built (types may refer to each other)."""

    def __init__(self, table: Mapping[str, Type], name: str) -> None:
        self.table, self.name = table, name

    @property
    def zero(self) -> Any:
        return self.table[self.name].zero

    def decode(self, value: Any) -> Any:
        return self.table[self.name].decode(value)


def build(desc: Mapping[str, Any], table: dict[str, Type]) -> Type:
    """A Type from a spec_types.json descriptor; `table` holds (and receives) the named structs."""
    kind = desc["k"]
    if kind == "bool":
        return Bool()
    if kind == "string":
        return String(bool(desc.get("name")))
    if kind == "int":
        return Int(desc["go"], desc["base"])
    if kind == "float":
        return Float()
    if kind == "strslice":
        return StrSlice(desc["go"])
    if kind == "slice":
        return Slice(desc["go"], build(desc["of"], table))
    if kind == "array":
        return Array(desc["go"], desc["len"], build(desc["of"], table))
    if kind == "map":
        return Map(desc["go"], build(desc["of"], table))
    if kind == "ref":
        return Ref(table, desc["to"])
    if kind == "struct":
        struct = Struct(desc["name"], desc["go"])
        for field, sub in desc["fields"]:
            struct.add(field, build(sub, table))
        return struct
    return Any_()


def build_table(types: Mapping[str, Mapping[str, Any]]) -> dict[str, Type]:
    table: dict[str, Type] = {}
    for name, desc in types.items():
        table[name] = build(desc, table)
    return table


def go_type_of(of: Type) -> str:
    return of.table[of.name].go if isinstance(of, Ref) else of.go
