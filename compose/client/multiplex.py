"""Docker's multiplexed stream framing (attach, exec, logs without a TTY).

The engine splits stdout and stderr into frames: an 8-byte header (stream
type, three zero bytes, the payload size big endian), then the payload.
With a TTY the bytes are raw and none of this applies. No anyio here: the
CLI's blocking paths and the anyio ones decode with the same code.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">BxxxL")


class Demultiplexer:
    """Docker's stream frames -> (fd, bytes) pieces; feed it whatever arrives."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        out = []
        while len(self._buffer) >= HEADER.size:
            kind, size = HEADER.unpack_from(self._buffer)
            if len(self._buffer) < HEADER.size + size:
                break
            payload = self._buffer[HEADER.size : HEADER.size + size]
            self._buffer = self._buffer[HEADER.size + size :]
            # 0 is stdin echoed back; docker writes it on stdout.
            out.append((2 if kind == 2 else 1, payload))
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


def frame(kind: int, payload: bytes) -> bytes:
    """One multiplexed frame (tests and fakes use it)."""
    return HEADER.pack(kind, len(payload)) + payload
