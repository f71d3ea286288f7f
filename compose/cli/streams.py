"""A terminal attached to a container or exec: frames, stdin, raw mode, resize.

Without a TTY the engine multiplexes stdout and stderr into frames (an
8-byte header: stream type, three zero bytes, the payload size big endian);
with a TTY the bytes are raw. stdin goes to the engine as is and its end is
a half-close. With `-it` the local terminal is put in raw mode and each
SIGWINCH becomes a resize request; without a TTY, SIGINT and SIGTERM are
forwarded to the container (docker's --sig-proxy). The engine detaches on
the detach keys; `Session.detach` sees them go by (detach_keys.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from compose.cli.frames import Output, terminal_size, write_all  # noqa: F401 - re-exported: the names this module always had
from compose.client.multiplex import HEADER, Demultiplexer, frame  # noqa: F401 - re-exported likewise

if TYPE_CHECKING:
    from compose.cli.detach_keys import Watch
    from compose.client import RawStream

READ_SIZE = 65536
Resize = Callable[[int, int], Awaitable[None]]
Forward = Callable[[str], Awaitable[None]]


@dataclass
class Session:
    """One attached stream and what the user's side of it needs."""

    stream: RawStream
    tty: bool
    stdin: bool  # forward our stdin
    resize: Resize | None = None
    forward_signal: Forward | None = None
    detach: Watch | None = None  # the detach keys on stdin, when they can end the session

    @property
    def detached(self) -> bool:
        return self.detach is not None and self.detach.seen


async def pump_output(stream: RawStream, output: Output) -> None:
    while True:
        try:
            data = await stream.receive(READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
            return
        if not data:
            return
        output.write(data)


async def read_stdin(fd: int = 0) -> bytes:
    """The next bytes of stdin, waiting without blocking the loop.

    Only terminals, pipes and sockets can be polled; files and /dev/null
    never block, so they are read at once.
    """
    mode = os.fstat(fd).st_mode
    if os.isatty(fd) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        await anyio.wait_readable(fd)
    try:
        return os.read(fd, READ_SIZE)
    except BlockingIOError:
        return await read_stdin(fd)


async def pump_input(stream: RawStream, fd: int = 0, detach: Watch | None = None) -> None:
    """stdin to the engine; its end half-closes the connection (the container sees EOF).

    After the detach keys nothing more is read: the engine ends the attach.
    """
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
        while data := await read_stdin(fd):
            await stream.send(data)
            if detach is not None:
                detach.feed(data)
                if detach.seen:
                    return
        await stream.send_eof()


@contextlib.contextmanager
def raw_terminal(fd: int = 0) -> Iterator[None]:
    """Raw mode on a terminal for the duration (restored even on errors)."""
    import termios
    import tty

    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def _signals(session: Session) -> None:
    wanted = [signal.SIGWINCH] if session.resize is not None else []
    if session.forward_signal is not None and not session.tty:
        wanted += [signal.SIGINT, signal.SIGTERM]
    if not wanted:
        return
    with anyio.open_signal_receiver(*wanted) as received:
        async for signum in received:
            if signum == signal.SIGWINCH and session.resize is not None:
                await _resize(session.resize)
            elif session.forward_signal is not None:
                with contextlib.suppress(Exception):  # the container may have gone meanwhile
                    await session.forward_signal(signal.Signals(signum).name)


async def _resize(resize: Resize) -> None:
    size = terminal_size()
    if size is not None:
        with contextlib.suppress(Exception):  # the container may be gone already
            await resize(*size)


async def run_session(session: Session, started: Callable[[], Awaitable[None]] | None = None) -> None:
    """Copy both ways until the engine ends the output; `started` runs once attached."""
    raw = session.tty and session.stdin and os.isatty(0)
    output = Output(session.tty)
    try:
        # Started before the copying: a start that fails raises here, not from a task group.
        if started is not None:
            await started()
        with raw_terminal(0) if raw else contextlib.nullcontext():
            async with anyio.create_task_group() as tasks:
                if session.tty and session.resize is not None and sys.stdout.isatty():
                    await _resize(session.resize)
                tasks.start_soon(_signals, session)
                if session.stdin:
                    tasks.start_soon(pump_input, session.stream, 0, session.detach)
                await pump_output(session.stream, output)
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await session.stream.aclose()
