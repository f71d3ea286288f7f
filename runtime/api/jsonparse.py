"""JSON request text -> Python values, refusing what Go's encoding/json refuses, without recursion errors.

Python's json accepts NaN and Infinity and recurses once per nesting level;
Go's refuses the first and stops at a depth limit. `loads` checks the depth
before parsing (a count of brackets outside strings, only when there are
enough brackets to matter), refuses the constants, and keeps the text of
every number that is not a plain integer (`Literal`), so that a typed decode
can say what Go says: `cannot unmarshal number 1e30 into ... of type int64`.
`refused` maps the exceptions bad input raises deeper in the engine to 400s.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
from typing import Any

from runtime.api.errors import EngineError, bad_request

# Go's limit is 10,000; ours stays well below Python's recursion limit, because the values are
# walked, copied and encoded again further on. No Engine API body comes near it (create: 7).
MAX_DEPTH = 400
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_KEEP = b"[]{}"
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_SIGNS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")  # an opening adds 1, a closing takes 1 (x - 1)


class Literal(float):
    """A JSON number that is not a plain integer, with its text (`1e30`, `1.5`, `5.0`)."""

    text: str

    def __new__(cls, text: str) -> Literal:
        value = float(text)
        if math.isinf(value):
            raise _Refused(f"json: cannot unmarshal number {text} into Go value of type float64")
        self = super().__new__(cls, value)
        self.text = text
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Literal, (self.text,))


class _Refused(ValueError):
    """Raised from inside json's hooks: the message is the answer."""


def _constant(name: str) -> Any:
    letter = "I" if "Infinity" in name else "N"
    where = "in numeric literal" if name.startswith("-") else "looking for beginning of value"
    raise _Refused(f"invalid character '{letter}' {where}")


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in `data` (brackets inside strings do not count)."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return 0  # cannot be deeper than the limit: not worth measuring
    brackets = _STRING.sub(b"", data).translate(None, _DROP)
    if b"[" * (MAX_DEPTH + 1) in brackets:
        return MAX_DEPTH + 1
    brackets = brackets.translate(_SIGNS)
    if not brackets:
        return 0
    return max(map(operator.sub, itertools.accumulate(brackets), itertools.count(1)))


def loads(data: bytes | str) -> Any:
    """Parse a JSON request body or parameter; a 400 `invalid JSON: ...` when Go would refuse it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if depth(raw) > MAX_DEPTH:
        raise bad_request("invalid JSON: invalid character '[' exceeded max depth")
    try:
        # Go takes bytes that are not UTF-8 in strings as U+FFFD; so does this.
        return json.loads(raw.decode("utf-8", "replace"), parse_float=Literal, parse_constant=_constant)
    except _Refused as exc:
        raise bad_request(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise bad_request("invalid JSON: invalid character '[' exceeded max depth") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, bad UTF-8, over-long integers
        raise bad_request(f"invalid JSON: {exc}") from None


def refused(exc: BaseException) -> EngineError | None:
    """The 400 for an exception bad input raises deep in the engine (a class, not a case):
    nesting too deep, a NUL byte or an unencodable character reaching the OS, a name too long
    for the file system. None for anything else."""
    import errno

    if isinstance(exc, RecursionError):
        return bad_request("request too deeply nested")
    if isinstance(exc, UnicodeError):
        return bad_request(f"invalid character in a name or path: {exc}")
    if isinstance(exc, ValueError) and "null" in str(exc) and "embedded" in str(exc):
        return bad_request("invalid argument: a name or path contains a NUL byte")
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        name = exc.filename if isinstance(exc.filename, str) else ""
        return bad_request(f"{name}: file name too long" if name else "file name too long")
    return None
