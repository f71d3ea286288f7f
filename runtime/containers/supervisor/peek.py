"""Reading a container's output pipe without consuming it until the log has it.

With the pipes' read ends kept by the holder, what sits in a pipe survives
a supervisor's death; what a supervisor has read but not yet logged does
not. So a kept container's output is drained in two steps: tee(2) copies
what the pipe holds into a scratch pipe (the container's pipe keeps it),
that copy is logged (one write), and only then are the same bytes read off
the container's pipe. A supervisor killed before the log write leaves the
bytes in the pipe for the next one; only a kill landing in the few
microseconds between the log write and the consume can log a chunk twice.
A partial line (no newline yet, under 16 KiB) is shown to attached
clients but stays in the pipe until its end comes (the pipe is then
watched edge-triggered, so the tail alone does not wake us again), and
is logged as Docker's partial entry when the writers are gone.
A TTY master cannot be teed: it is read as before.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios

from runtime.linux import syscalls as sc


class Peeker:
    """One scratch pipe per supervisor, empty between calls (the supervisor is single-threaded)."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def peek(self, fd: int, size: int) -> bytes:
        """Up to `size` bytes at the head of pipe `fd`, left there; b"" at EOF, BlockingIOError if empty."""
        n = sc.tee(fd, self._w, size)
        if n == 0:
            return b""
        chunks = []
        while n > 0:
            chunk = os.read(self._r, n)
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def available(self, fd: int) -> int:
        """How many bytes pipe `fd` holds (FIONREAD)."""
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]

    def consume(self, fd: int, size: int) -> None:
        """Take `size` bytes (already peeked, so they are there) off pipe `fd`."""
        while size > 0:
            data = os.read(fd, size)
            if not data:
                return
            size -= len(data)

    def close(self) -> None:
        for fd in (self._r, self._w):
            os.close(fd)
