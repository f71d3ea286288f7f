"""A small level-triggered epoll loop with timers: the supervisor's only source of concurrency.

Callbacks get the raw epoll mask, so a stream can tell a peer that only
shut down its writing half (EPOLLRDHUP) from one that went away (EPOLLHUP).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IN = select.EPOLLIN
OUT = select.EPOLLOUT
HUP = select.EPOLLHUP
ERR = select.EPOLLERR
RDHUP = select.EPOLLRDHUP
ET = select.EPOLLET

log = logging.getLogger("pycompose.supervisor")

Handler = Callable[[int], None]


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, Handler] = {}
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self.stopped = False

    def watch(self, fd: int, events: int, handler: Handler) -> None:
        """Call `handler(mask)` while `fd` has any of `events` (or HUP/ERR, always reported)."""
        if fd in self._handlers:
            self._epoll.modify(fd, events)
        else:
            self._epoll.register(fd, events)
        self._handlers[fd] = handler

    def modify(self, fd: int, events: int) -> None:
        if fd in self._handlers:
            self._epoll.modify(fd, events)

    def unwatch(self, fd: int) -> None:
        if self._handlers.pop(fd, None) is not None:
            # An fd closed already was dropped by the kernel with its last reference.
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    def watching(self, fd: int) -> bool:
        return fd in self._handlers

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + delay, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def run(self) -> None:
        while not self.stopped:
            self.run_once()

    def run_once(self, max_wait: float = 60.0) -> None:
        timeout = max_wait
        now = time.monotonic()
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if self._timers:
            timeout = max(0.0, min(timeout, self._timers[0].when - now))
        try:
            ready = self._epoll.poll(timeout)
        except InterruptedError:
            ready = []
        for fd, mask in ready:
            handler = self._handlers.get(fd)
            if handler is not None and not self._call(handler, mask) and self._handlers.get(fd) is handler:
                # A handler that failed would fail again on the same level-triggered readiness: drop the fd.
                self.unwatch(fd)
        now = time.monotonic()
        while self._timers and (self._timers[0].cancelled or self._timers[0].when <= now):
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                self._call(timer.callback)

    @staticmethod
    def _call(fn: Callable[..., None], *args: int) -> bool:
        try:
            fn(*args)
        except Exception:  # one broken stream must not take every container's supervision down
            log.exception("supervisor callback failed")
            return False
        return True

    def close(self) -> None:
        self._epoll.close()
