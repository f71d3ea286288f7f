"""Accepting stream connections so that clients cannot take the process down.

Used by the API server and the embedded DNS server's TCP side. Three guards:

- Running out of file descriptors (EMFILE/ENFILE, which anyio raises from
  `accept()` as BrokenResourceError) is logged, an idle connection is closed
  to free a descriptor, and accepting resumes after a back-off (5 ms doubling
  to 1 s, as Go's http.Server does) instead of the accept loop dying.
- At most `max_connections` are open at once. At the limit the pool closes
  the connection that has waited longest for a request (a keep-alive one at
  once, a fresh one after EVICT_GRACE), never one in the middle of a request
  or a stream; with none to close, newcomers wait in the listen backlog until
  a connection ends.
- A connection waits for its next request (the whole request head) at most
  `idle_timeout` seconds (and up to a second more): the caller wraps that
  wait in `slot.waiting()`, and `close_idle_forever()` runs beside the
  accept loop.
  What happens inside a request (bodies, streamed responses, hijacked
  attach/exec streams) is never timed out here.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import resource
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import anyio.abc

DEFAULT_IDLE_TIMEOUT = 90.0
# Descriptors left to the rest of the process (state, logs, supervisor, DNS…);
# each connection may hold a second one (a log file, a supervisor stream).
FD_RESERVE = 64
FDS_PER_CONNECTION = 2
MIN_CONNECTIONS = 8
BACKOFF_MIN = 0.005
BACKOFF_MAX = 1.0
# A connection that has not sent its first request is only evicted after this long.
EVICT_GRACE = 1.0
# While full, how often to look again for a connection to evict.
RECHECK = 0.25
# How often idle connections are looked for (at most; a quarter of the timeout if shorter).
REAP_EVERY = 1.0
WARN_EVERY = 10.0
FD_EXHAUSTION = frozenset({errno.EMFILE, errno.ENFILE})
MEMORY_EXHAUSTION = frozenset({errno.ENOBUFS, errno.ENOMEM})


@dataclass(frozen=True)
class ConnectionLimits:
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = 0  # 0: derived from RLIMIT_NOFILE


def default_max_connections(nofile: int | None = None) -> int:
    """The connection limit for a process allowed `nofile` descriptors (default: its soft RLIMIT_NOFILE)."""
    if nofile is None:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile == resource.RLIM_INFINITY or nofile > 1 << 20:
        nofile = 1 << 20
    return max(MIN_CONNECTIONS, (nofile - FD_RESERVE) // FDS_PER_CONNECTION)


def exhausted(exc: BaseException) -> str | None:
    """What `exc` (or the OSError behind an anyio error) says the process ran out of, if anything."""
    cause = exc if isinstance(exc, OSError) else exc.__cause__
    if not isinstance(cause, OSError):
        return None
    if cause.errno in FD_EXHAUSTION:
        return "file descriptors"
    return "memory" if cause.errno in MEMORY_EXHAUSTION else None


class _Throttled:
    """A warning logged at once, then at most every WARN_EVERY seconds with a count of the ones held back."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._last = -WARN_EVERY
        self._held = 0

    def warn(self, message: str, *args: object) -> None:
        now = anyio.current_time()
        if now - self._last < WARN_EVERY:
            self._held += 1
            return
        if self._held:
            message += f" ({self._held} more since the last report)"
        self._log.warning(message, *args)
        self._last, self._held = now, 0


class Slot:
    """One open connection as the pool counts it; `with slot:` releases it at the end.

    The pool closes a connection by shutting down its read side: the server,
    waiting for a request, reads what the client had already sent and then
    EOF, and ends the connection itself (no cancellation in the middle of a
    read). `closed_because` then says why.
    """

    def __init__(self, pool: ConnectionPool, sock: socket.socket | None) -> None:
        self._pool: ConnectionPool | None = pool
        self._sock = sock
        self.served = 0
        self.idle_since: float | None = None
        self.closed_because: str | None = None

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.release(self)
            self._pool = None

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around the wait for the next request: only then may the pool close the connection."""
        self.idle_since = anyio.current_time()
        try:
            yield
        finally:
            self.idle_since = None
            self.served += 1

    def close(self, why: str) -> None:
        if self.closed_because is not None:
            return
        self.closed_because = why
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RD)


class ConnectionPool:
    """The open connections of one server (any number of listeners): limit, eviction, accept."""

    def __init__(self, name: str, limits: ConnectionLimits, log: logging.Logger) -> None:
        self.name = name
        self.limits = limits
        self._nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.max_connections = limits.max_connections or default_max_connections(self._nofile)
        self._log = log
        self._slots: dict[Slot, None] = {}
        self._freed: anyio.Event | None = None
        self._full = _Throttled(log)
        self._failed = _Throttled(log)

    def __len__(self) -> int:
        return len(self._slots)

    def describe(self) -> str:
        derived = "" if self.limits.max_connections else f" (from RLIMIT_NOFILE {self._nofile})"
        return (f"{self.name}: at most {self.max_connections} connections{derived}, "
                f"idle ones closed after {self.limits.idle_timeout:g} s")

    async def accept(self, listener: anyio.abc.SocketListener) -> tuple[anyio.abc.SocketStream, Slot]:
        """The next connection and its slot, once there is room; raises only when the listener is closed."""
        await self._wait_for_room()
        delay = BACKOFF_MIN
        while True:
            try:
                stream = await listener.accept()
            except (anyio.BrokenResourceError, OSError) as exc:
                if not isinstance(exc, OSError) and not isinstance(exc.__cause__, OSError):
                    raise
                short_of = exhausted(exc)
                if short_of is not None:
                    freed = self._evict(grace=0.0)
                    self._failed.warn("%s: out of %s (%s): %s, accepting again in %g s",
                                      self.name, short_of, exc.__cause__ or exc,
                                      "closed the longest-idle connection" if freed else "no idle connection to close",
                                      delay)
                else:
                    self._failed.warn("%s: accept failed (%s), accepting again in %g s",
                                      self.name, exc.__cause__ or exc, delay)
                await anyio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            slot = Slot(self, stream.extra(anyio.abc.SocketAttribute.raw_socket, None))
            self._slots[slot] = None
            return stream, slot

    async def close_idle_forever(self) -> None:
        """Close the connections that wait for a request longer than the idle timeout."""
        timeout = self.limits.idle_timeout
        while True:
            await anyio.sleep(min(REAP_EVERY, timeout / 4))
            now = anyio.current_time()
            for slot in list(self._slots):
                if slot.idle_since is not None and now - slot.idle_since >= timeout:
                    slot.close(f"idle for {timeout:g} s")

    def release(self, slot: Slot) -> None:
        self._slots.pop(slot, None)
        if self._freed is not None:
            self._freed.set()

    async def _wait_for_room(self) -> None:
        while len(self._slots) >= self.max_connections:
            freed = self._evict(grace=EVICT_GRACE)
            self._full.warn("%s: %d connections open, the limit: %s", self.name, len(self._slots),
                            "closing the longest-idle one" if freed else "new ones wait until one ends")
            self._freed = anyio.Event()
            with anyio.move_on_after(RECHECK):
                await self._freed.wait()
        self._freed = None

    def _evict(self, grace: float) -> bool:
        """Close the connection waiting longest for a request (a fresh one only after `grace`)."""
        now = anyio.current_time()
        victim: Slot | None = None
        for slot in self._slots:
            since = slot.idle_since
            if since is None or slot.closed_because or (not slot.served and now - since < grace):
                continue
            if victim is None or since < (victim.idle_since or now):
                victim = slot
        if victim is None:
            return False
        victim.close("to make room")
        return True
