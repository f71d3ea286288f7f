"""The `local` log driver's file format, as dockerd's writes it (daemon/logger/local).

Each entry is a protobuf `LogEntry` (1 source string, 2 time_nano int64, 3 line bytes,
4 partial bool) between two big-endian uint32 copies of its length; the line is kept
without its newline, and `partial` marks a piece of a longer line. The file lives at
`<bundle>/local-logs/container.log` and is rotated like json-file's (`.1`, `.2`..., gzipped
as `.N.gz` when compressed). Pure: bytes in, bytes out.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path
from typing import NamedTuple

LOCAL_DIR = "local-logs"
LOCAL_NAME = "container.log"
_LEN = struct.Struct(">I")


class LocalEntry(NamedTuple):
    source: str
    time_ns: int
    line: bytes  # without the newline
    partial: bool
    attrs: tuple[tuple[str, str], ...] = ()


def local_path(bundle: str | Path) -> Path:
    return Path(bundle) / LOCAL_DIR / LOCAL_NAME


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field_bytes(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def encode_attrs(attrs: dict[str, str]) -> bytes:
    """The entries' `attrs` (field 6, repeated LogAttr{1 key, 2 value}), sorted as dockerd sorts them."""
    return b"".join(_field_bytes(6, _field_bytes(1, k.encode()) + _field_bytes(2, v.encode()))
                    for k, v in sorted(attrs.items()))


def encode(source: str, time_ns: int, data: bytes, attrs: bytes = b"") -> bytes:
    """One framed entry for output `data` (a line with its newline, or a piece without one); `attrs`
    from encode_attrs."""
    partial = not data.endswith(b"\n")
    line = data if partial else data[:-1]
    body = bytearray()
    if source:
        body += _field_bytes(1, source.encode())
    if time_ns:
        body += _varint(2 << 3) + _varint(time_ns)
    if line:
        body += _field_bytes(3, line)
    if partial:
        body += _varint(4 << 3) + b"\x01"
    body += attrs
    return _LEN.pack(len(body)) + bytes(body) + _LEN.pack(len(body))


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def decode_entry(body: bytes) -> LocalEntry:
    source, time_ns, line, partial = "", 0, b"", False
    attrs: list[tuple[str, str]] = []
    at = 0
    while at < len(body):
        key, at = _read_varint(body, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _read_varint(body, at)
            if number == 2:
                time_ns = value - (1 << 64) if value >= 1 << 63 else value
            elif number == 4:
                partial = bool(value)
        elif wire == 2:
            size, at = _read_varint(body, at)
            chunk, at = body[at:at + size], at + size
            if number == 1:
                source = chunk.decode("utf-8", errors="replace")
            elif number == 3:
                line = chunk
            elif number == 6:
                attrs.append(_attr(chunk))
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise ValueError(f"unknown wire type {wire}")
    return LocalEntry(source, time_ns, line, partial, tuple(attrs))


def _attr(body: bytes) -> tuple[str, str]:
    fields = {1: "", 2: ""}
    at = 0
    while at < len(body):
        key, at = _read_varint(body, at)
        if key & 7 != 2:
            raise ValueError("LogAttr fields are strings")
        size, at = _read_varint(body, at)
        fields[key >> 3] = body[at:at + size].decode("utf-8", errors="replace")
        at += size
    return fields[1], fields[2]


def split(data: bytes) -> tuple[list[LocalEntry], bytes]:
    """The complete entries at the start of `data`, and the incomplete rest (a write in progress)."""
    out = []
    at = 0
    while len(data) - at >= 8:
        (size,) = _LEN.unpack_from(data, at)
        end = at + 4 + size + 4
        if end > len(data):
            break
        if _LEN.unpack_from(data, end - 4)[0] == size:
            with contextlib.suppress(ValueError):  # a damaged entry is skipped, as dockerd's decoder does
                out.append(decode_entry(data[at + 4:end - 4]))
        at = end
    return out, data[at:]
