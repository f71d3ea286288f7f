"""Where an attach stream's bytes go, without an event loop.

Without a TTY the stream is Docker's multiplexed frames, decoded by
compose/client/multiplex.py; with a TTY the bytes are raw. Kept apart from
streams.py (anyio) so the CLI's blocking paths can use it without importing
anyio.
"""

from __future__ import annotations

import os

from compose.client.multiplex import Demultiplexer


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
