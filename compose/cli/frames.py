"""Docker's attach stream framing and where its bytes go, without an event loop.

Without a TTY the engine multiplexes stdout and stderr into frames (an
8-byte header: stream type, three zero bytes, the payload size big endian);
with a TTY the bytes are raw. Kept apart from streams.py (anyio) so the
CLI's blocking paths can use it without importing anyio.
"""

from __future__ import annotations

import os
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


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]


class Output:
    """Where received bytes go: demultiplexed to fds 1/2, or raw to fd 1."""

    def __init__(self, tty: bool, stdout: int = 1, stderr: int = 2) -> None:
        self._demux = None if tty else Demultiplexer()
        self._fds = {1: stdout, 2: stderr}

    def write(self, data: bytes) -> None:
        if self._demux is None:
            write_all(self._fds[1], data)
            return
        for kind, payload in self._demux.feed(data):
            write_all(self._fds[kind], payload)


def terminal_size(fd: int = 1) -> tuple[int, int] | None:
    """(height, width) of the terminal on `fd`, if it is one."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns
