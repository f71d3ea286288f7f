"""A context tar cut into its records as it arrives, each hashed: a record is one member's header
blocks (pax and GNU long-name headers included) and its data, so that two contexts can be told
apart member by member without unpacking either (contexts.py patches the kept tree).

The cut follows only the header fields that decide a record's length (type and size); what
tarfile would read differently (a bad checksum, where tarfile stops; base-256 or pax sizes,
global headers, sparse files, a stream that stops inside a record; a compressed stream) makes
the records unusable, never wrong: `usable` turns False and the caller unpacks the whole tar as
before. Where the tar ends (its first zero block) the cut ends, as tarfile's reading does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

BLOCK = 512
_NO_DATA = frozenset(b"123456")  # link, symlink, devices, directory, fifo: tarfile reads no data
_WITH_DATA = frozenset(b"07\0")  # regular files
_EXTENDED = frozenset(b"xLK")  # headers that belong to the next member
_PAX_LIMIT = 1 << 16  # bytes of a pax header looked at
_HIGH = bytes(range(128, 256))


@dataclass(frozen=True)
class Record:
    start: int  # offset of its first header block
    end: int  # offset past its data's padding
    digest: str  # sha256 of the bytes in between


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


class RecordCutter:
    """Fed the tar's bytes in order (`feed`), then `close()`; `records` and `usable` tell the cut."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.usable = True
        self._pos = 0
        self._ended = False
        self._head = bytearray()
        self._left = 0  # data bytes of the current header still to come
        self._pax: bytearray | None = None  # a pax header's data, while it comes
        self._start = 0  # offset of the record being cut
        self._open: hashlib._Hash | None = None  # its sha256, while it is cut
        self._member_done = False  # the current data is the member's own (the record ends with it)

    def feed(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view and self.usable and not self._ended:
            if self._left:
                n = min(self._left, len(view))
                part = view[:n]
                self._hash().update(part)
                if self._pax is not None and len(self._pax) < _PAX_LIMIT:
                    self._pax += part
                view, self._left, self._pos = view[n:], self._left - n, self._pos + n
                if not self._left:
                    self._data_done()
                continue
            n = min(BLOCK - len(self._head), len(view))
            self._head += view[:n]
            view, self._pos = view[n:], self._pos + n
            if len(self._head) == BLOCK:
                header, self._head = bytes(self._head), bytearray()
                self._header(header)

    def close(self) -> None:
        """The stream ended: a record cut short (or a partial header) leaves the cut unusable."""
        if self._ended:
            return
        if self._open is not None or self._head.strip(b"\0") or self._left:
            self.usable = False

    def _hash(self) -> hashlib._Hash:
        assert self._open is not None
        return self._open

    def _header(self, header: bytes) -> None:
        if self._open is None:
            if not header.strip(b"\0"):
                self._ended = True  # tarfile stops at the first zero block
                return
            self._start, self._open = self._pos - BLOCK, hashlib.sha256()
        self._hash().update(header)
        if not _checksum_ok(header):
            self.usable = False  # tarfile would stop there (or this is no plain tar: gzip, ...)
            return
        kind = header[156]
        size = self._size(header)
        if size is None:
            self.usable = False
            return
        if kind in _EXTENDED:
            self._pax = bytearray() if kind == ord("x") else None
            self._member_done, self._left = False, _padded(size)
            if not self._left:
                self._data_done()
        elif kind in _WITH_DATA or kind in _NO_DATA:
            self._member_done, self._left = True, _padded(size) if kind in _WITH_DATA else 0
            if not self._left:
                self._data_done()
        else:  # global pax headers, GNU sparse or volume headers, vendor types
            self.usable = False

    def _data_done(self) -> None:
        if self._pax is not None:
            pax, self._pax = bytes(self._pax), None
            if len(pax) >= _PAX_LIMIT or b" size=" in pax:
                self.usable = False  # a size from pax: the header's own size field is not the data's
            return
        if self._member_done:
            self.records.append(Record(self._start, self._pos, self._hash().hexdigest()))
            self._open = None

    @staticmethod
    def _size(header: bytes) -> int | None:
        field = header[124:136]
        if field[0] & 0x80:
            return None  # base-256: sizes past 8 GiB
        text = field.rstrip(b"\0 ").lstrip(b" ")
        try:
            return int(text, 8) if text else 0
        except ValueError:
            return None


def _checksum_ok(header: bytes) -> bool:
    """tarfile's test: the header's sum, its checksum field counted as spaces, unsigned or signed."""
    field = header[148:156].rstrip(b"\0 ").lstrip(b" ")
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    unsigned = sum(header) - sum(header[148:156]) + 8 * 32
    if stored == unsigned:
        return True
    rest = header[:148] + header[156:]
    return stored == unsigned - 256 * (len(rest) - len(rest.translate(None, _HIGH)))
