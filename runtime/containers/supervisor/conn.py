"""One client connection of the supervisor: requests in, responses and events out (with fds).

Output is queued as (bytes, fds) segments; a segment's fds go with its
first sendmsg. The fds are ours until sent, and closed right after.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.containers.supervisor import loop as ev
from runtime.containers.supervisor.protocol import LineReader, OpError, ProtocolError, encode, error_message

log = logging.getLogger("pycompose.supervisor")
MAX_PENDING = 64 << 20  # a subscriber this far behind is dropped, not allowed to eat the memory


class Conn:
    def __init__(self, loop: ev.Loop, sock: socket.socket, on_request: Callable[[Conn, dict[str, Any]], None],
                 on_close: Callable[[Conn], None]) -> None:
        self.loop, self.sock = loop, sock
        self.fd = sock.fileno()
        self.on_request, self.on_close = on_request, on_close
        self.reader = LineReader()
        self.queue: deque[tuple[memoryview, list[int]]] = deque()
        self.pending = 0
        self.subscribed = False
        self.closed = False
        sock.setblocking(False)
        loop.watch(self.fd, ev.IN, self._on_event)

    def send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        """Queue a message; `fds` become the connection's and are closed once sent (or dropped)."""
        if self.closed:
            for fd in fds or ():
                os.close(fd)
            return
        data = encode(message)
        self.queue.append((memoryview(data), list(fds or ())))
        self.pending += len(data)
        if self.pending > MAX_PENDING:
            log.warning("dropping a client %d bytes behind", self.pending)
            self.close()
            return
        self._flush()

    def _flush(self) -> None:
        while self.queue:
            data, fds = self.queue[0]
            try:
                if fds:
                    sent = self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _pack(fds))])
                    for fd in fds:
                        os.close(fd)
                    fds.clear()
                else:
                    sent = self.sock.send(data)
            except BlockingIOError:
                break
            except OSError:
                self.close()
                return
            self.pending -= sent
            if sent == len(data):
                self.queue.popleft()
            else:
                self.queue[0] = (data[sent:], fds)
        self.loop.modify(self.fd, ev.IN | (ev.OUT if self.queue else 0))

    def _on_event(self, mask: int) -> None:
        if mask & ev.OUT:
            self._flush()
        if self.closed or not mask & (ev.IN | ev.HUP | ev.ERR):
            return
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        try:
            for message in self.reader.feed(data):
                self.on_request(self, message)
                if self.closed:
                    return
        except ProtocolError as exc:
            self.send({"ok": False, "error": f"protocol error: {exc}"})
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.unwatch(self.fd)
        for _data, fds in self.queue:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.queue.clear()
        self.sock.close()
        self.on_close(self)


def _pack(fds: list[int]) -> bytes:
    import array

    return array.array("i", fds).tobytes()


class Reply:
    """The answer to one request, given now or later (create and start wait for the child)."""

    def __init__(self, conn: Conn, request_id: Any) -> None:
        self.conn, self.request_id = conn, request_id
        self.done = False

    def ok(self, fds: list[int] | None = None, **fields: Any) -> None:
        if self.done:
            for fd in fds or ():
                os.close(fd)
            return
        self.done = True
        message = {"id": self.request_id, "ok": True, **fields}
        if fds:
            message["fds"] = len(fds)
        self.conn.send(message, fds)

    def fail(self, exc: BaseException) -> None:
        if self.done:
            return
        self.done = True
        self.conn.send(error_response(self.request_id, exc))


def error_response(request_id: Any, exc: BaseException) -> dict[str, Any]:
    from runtime.containers.supervisor.process_setup import RuntimeFailure

    if isinstance(exc, RuntimeFailure):
        out = error_message(request_id, exc.message, exc.phase, exc.exit_code)
        out["kind"] = "runtime"
        return out
    if isinstance(exc, OpError):
        out = error_message(request_id, str(exc))
        out["kind"] = exc.kind
        return out
    if isinstance(exc, OSError):
        out = error_message(request_id, str(exc))
        out["kind"] = "system"
        return out
    out = error_message(request_id, f"{type(exc).__name__}: {exc}")
    out["kind"] = "internal"
    return out
