"""A process's stdio inside the supervisor: drain output to the log and attached streams, feed stdin.

One `ProcessIO` per container or exec process. Output fds (two pipes, or
one pty master) are read as they become readable; each chunk goes to the
json-file log (containers only) and to every attached stream, framed for
non-TTY processes. An attached client that falls behind by more than
HIGH_WATER bytes pauses reading the process's output (the process then
blocks on a full pipe, as under Docker) until it catches up. A container's
pipes, once the holder keeps them (`make_durable`), are read without being
consumed until the log has the bytes (`_read_kept`, peek.py), so a
supervisor killed at any point leaves what it had not logged in the pipe.

Input from attached streams that asked for stdin is written to the
process's stdin; the stream's EOF closes stdin when `close_stdin_on_eof`
(exec, and containers created with stdin_once).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import time
from collections.abc import Callable

from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor.logs import JsonFileLog
from runtime.containers.supervisor.peek import Peeker
from runtime.containers.supervisor.protocol import STREAM_NAMES, frame

READ_SIZE = 64 * 1024
DRAIN_TIMEOUT = 1.0  # how long an exited process's output may still drain
HIGH_WATER = 1 << 20
LOW_WATER = 64 * 1024


class Attachment:
    def __init__(self, io: ProcessIO, sock: socket.socket, stdin: bool) -> None:
        self.io, self.sock, self.stdin = io, sock, stdin
        self.fd = sock.fileno()
        self.out = bytearray()
        self.input_open = True
        self.closing = False  # close once `out` is flushed
        self.closed = False
        sock.setblocking(False)

    def events(self) -> int:
        mask = ev.IN | ev.RDHUP if self.input_open else 0
        return mask | (ev.OUT if self.out else 0)

    def send(self, data: bytes) -> None:
        self.out += data
        self.flush()

    def flush(self) -> None:
        if self.closed:
            return
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except BlockingIOError:
                break
            except OSError:
                self.io.detach(self)
                return
            del self.out[:sent]
        if self.closing and not self.out:
            self.io.detach(self)
            return
        self.io.loop.modify(self.fd, self.events())

    def on_event(self, mask: int) -> None:
        if mask & (ev.IN | ev.RDHUP) and self.input_open:
            self._read_input()
        if self.closed:
            return
        if mask & (ev.HUP | ev.ERR):
            self.io.detach(self)
            return
        if mask & ev.OUT:
            self.flush()

    def _read_input(self) -> None:
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            if self.stdin:
                self.io.write_input(data)
            return
        self.input_open = False
        if self.stdin and self.io.close_stdin_on_eof:
            self.io.close_input()
        if not self.closed:
            self.io.loop.modify(self.fd, self.events())


class ProcessIO:
    def __init__(self, loop: ev.Loop, outputs: dict[int, int], stdin: int, tty: bool,
                 log: JsonFileLog | None, on_drained: Callable[[], None], close_stdin_on_eof: bool) -> None:
        """`outputs`: stream number -> fd we read (for a TTY one entry, the master); `stdin`: fd we write or -1.

        With a TTY, `stdin` is the master itself (or -1 when input is not wanted).
        """
        self.loop, self.tty, self.log = loop, tty, log
        self.outputs = dict(outputs)
        self.stdin = stdin
        self.master = next(iter(outputs.values())) if tty and outputs else -1
        self.on_drained = on_drained
        self.close_stdin_on_eof = close_stdin_on_eof
        self.attachments: list[Attachment] = []
        self._input = bytearray()
        self._paused = False
        self._drained = False
        self._close_stdin_pending = False
        self.peeker: Peeker | None = None
        self.on_stdin_closed: Callable[[], None] | None = None
        self._held: dict[int, int] = {}  # stream -> bytes at the head of its kept pipe, shown but not logged
        self._waiting: set[int] = set()  # streams whose pipe holds only those: edge-triggered until it grows
        for stream, fd in self.outputs.items():
            os.set_blocking(fd, False)
            loop.watch(fd, ev.IN, functools.partial(self._on_output_fd, stream))
        if stdin >= 0 and stdin != self.master:
            os.set_blocking(stdin, False)
        if not self.outputs:
            self._drained = True

    def make_durable(self, peeker: Peeker, on_stdin_closed: Callable[[], None]) -> None:
        """The holder keeps our pipes from now on: consume output only once it is logged (peek.py)."""
        self.peeker, self.on_stdin_closed = (peeker if not self.tty else None), on_stdin_closed

    def _update_interest(self) -> None:
        for stream, fd in self.outputs.items():
            want = 0 if self._paused else ev.IN | (ev.ET if stream in self._waiting else 0)
            if fd == self.master and self._input:
                want |= ev.OUT
            self.loop.modify(fd, want)
        if self.stdin >= 0 and self.stdin != self.master:
            if self._input:
                self.loop.watch(self.stdin, ev.OUT, self._on_stdin_writable)
            else:
                self.loop.unwatch(self.stdin)

    # -- output ----------------------------------------------------------------------------

    def _on_output_fd(self, stream: int, mask: int) -> None:
        if mask & ev.OUT:
            self._flush_input()
        if mask & (ev.IN | ev.HUP | ev.ERR):
            self._read_output(stream, mask)

    def _read_output(self, stream: int, mask: int = 0) -> None:
        fd = self.outputs.get(stream)
        if fd is None:
            return
        if self.peeker is not None:
            self._read_kept(stream, fd, self.peeker, bool(mask & ev.HUP))
            return
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: a pty whose slave side is all closed
                raise
            data = b""
        if not data:
            self._close_output(stream)
            return
        self.deliver(stream, data)

    def _read_kept(self, stream: int, fd: int, peeker: Peeker, hangup: bool) -> None:
        """A pipe the holder keeps (peek.py): what is not logged yet, a partial line too, stays in it."""
        held = self._held.get(stream, 0)
        try:
            data = peeker.peek(fd, READ_SIZE)
        except BlockingIOError:
            return
        if not data:
            self._close_output(stream)
            return
        if len(data) > held:
            self._to_attachments(stream, data[held:])
        final = hangup and len(data) == peeker.available(fd)  # no writer left, and this is all there is
        done = len(data) if self.log is None else self.log.write_lines(
            STREAM_NAMES[stream], data, time.time_ns(), final)
        peeker.consume(fd, done)
        self._held[stream] = len(data) - done
        # Only a partial line left in the pipe: it alone must not wake us again, its next byte will.
        waiting = bool(self._held[stream]) and peeker.available(fd) == self._held[stream]
        if waiting != (stream in self._waiting):
            self._waiting.symmetric_difference_update({stream})
            self._update_interest()

    def deliver(self, stream: int, data: bytes) -> None:
        if self.log is not None:
            self.log.write(STREAM_NAMES[stream], data, time.time_ns())
        self._to_attachments(stream, data)

    def _to_attachments(self, stream: int, data: bytes) -> None:
        chunk = data if self.tty else frame(stream, data)
        for attachment in list(self.attachments):
            attachment.send(chunk)
        if not self._paused and any(len(a.out) > HIGH_WATER for a in self.attachments):
            self._paused = True
            self._update_interest()
            self.loop.call_later(0.01, self._maybe_resume)

    def _maybe_resume(self) -> None:
        if not self._paused:
            return
        if any(len(a.out) > LOW_WATER for a in self.attachments):
            self.loop.call_later(0.01, self._maybe_resume)
            return
        self._paused = False
        self._update_interest()

    def _close_output(self, stream: int) -> None:
        fd = self.outputs.pop(stream)
        self.loop.unwatch(fd)
        if self._held.pop(stream, 0) and self.peeker is not None and self.log is not None:
            with contextlib.suppress(OSError):  # the partial line left: logged as Docker does at the end
                data = self.peeker.peek(fd, READ_SIZE)
                self.peeker.consume(fd, self.log.write_lines(STREAM_NAMES[stream], data, time.time_ns(), True))
        self._waiting.discard(stream)
        if fd == self.master:
            self._input.clear()
            self.stdin = -1 if self.stdin == fd else self.stdin
            self.master = -1
        os.close(fd)
        if not self.outputs:
            self._finish_output()

    def _finish_output(self) -> None:
        if self._drained:
            return
        self._drained = True
        if self.log is not None:
            self.log.flush(time.time_ns())
        self.on_drained()

    @property
    def drained(self) -> bool:
        return self._drained

    # -- input -----------------------------------------------------------------------------

    def write_input(self, data: bytes) -> None:
        if self.stdin < 0:
            return
        self._input += data
        self._flush_input()

    def _on_stdin_writable(self, mask: int) -> None:
        self._flush_input()

    def _flush_input(self) -> None:
        while self._input and self.stdin >= 0:
            try:
                written = os.write(self.stdin, self._input)
            except BlockingIOError:
                break
            except OSError:  # EPIPE: the process closed its stdin
                self._input.clear()
                break
            del self._input[:written]
        if not self._input and self._close_stdin_pending:
            self._close_stdin_now()
        self._update_interest()

    def close_input(self) -> None:
        """Close the process's stdin once buffered input is written (a TTY's master stays open)."""
        if self.stdin < 0 or self.stdin == self.master:
            return
        self._close_stdin_pending = True
        if not self._input:
            self._close_stdin_now()

    def _close_stdin_now(self) -> None:
        if self.stdin < 0 or self.stdin == self.master:
            return
        self.loop.unwatch(self.stdin)
        with contextlib.suppress(OSError):
            os.close(self.stdin)
        self.stdin = -1
        self._close_stdin_pending = False
        if self.on_stdin_closed is not None:
            self.on_stdin_closed()  # the holder's copy goes too, or the process never sees EOF

    # -- attachments -----------------------------------------------------------------------

    def attach(self, sock: socket.socket, stdin: bool) -> None:
        attachment = Attachment(self, sock, stdin)
        self.attachments.append(attachment)
        self.loop.watch(attachment.fd, attachment.events(), attachment.on_event)
        if self._drained:
            self._close_attachments()

    def detach(self, attachment: Attachment) -> None:
        if attachment.closed:
            return
        attachment.closed = True
        if attachment in self.attachments:
            self.attachments.remove(attachment)
        self.loop.unwatch(attachment.fd)
        attachment.sock.close()

    def _close_attachments(self) -> None:
        for attachment in list(self.attachments):
            attachment.closing = True
            attachment.input_open = False
            attachment.flush()

    def resize(self, rows: int, cols: int) -> None:
        from runtime.linux.syscalls import set_window_size

        if self.master < 0:
            raise OSError(errno.ENOTTY, "the process has no terminal")
        set_window_size(self.master, rows, cols)

    def close(self) -> None:
        """The process is gone and its output drained (or given up on): close everything we hold."""
        for stream in list(self.outputs):
            self._close_output(stream)  # also flushes the log and calls on_drained once
        self._input.clear()
        self._close_stdin_now()
        self._close_attachments()
        if self.log is not None:
            self.log.close()
            self.log = None


class DrainedExit:
    """The end of a container's or an exec's process: reaped, then its output drained, then finished.

    Reaping moves `phase` to "exiting"; the process is finished (`_finished`,
    exactly once) when `io` reports the output drained, or DRAIN_TIMEOUT
    later at the latest, so a grandchild holding the pipes cannot keep the
    exit from being reported.
    """

    phase: str
    io: ProcessIO | None
    _drain_timer: ev.Timer | None

    def _exiting(self, loop: ev.Loop) -> None:
        self.phase = "exiting"
        if self.io is None or self.io.drained:
            self._finalize()
        else:
            self._drain_timer = loop.call_later(DRAIN_TIMEOUT, self._finalize)

    def _on_drained(self) -> None:
        if self.phase == "exiting":
            self._finalize()

    def _finalize(self) -> None:
        if self.phase != "exiting":
            return
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        if self.io is not None:
            self.io.close()
        self._finished()

    def _finished(self) -> None:
        raise NotImplementedError
