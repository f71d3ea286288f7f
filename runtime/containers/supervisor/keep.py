"""The wire between the supervisor and its holder, and the supervisor's end of it.

The holder (holder.py) keeps duplicates of every running container's
descriptors so they outlive a supervisor that dies: the pidfd of PID 1 (its
exit status stays readable with PIDFD_GET_INFO) and its stdio (the read
ends of stdout/stderr, the write end of stdin, or the TTY master), so the
pipes never lose their reader and nothing a container writes is lost.

One AF_UNIX SOCK_SEQPACKET pair per supervisor; a message is one JSON
object, its descriptors ride as SCM_RIGHTS in the same packet:
  supervisor -> holder  {"op": "keep", "cid", "roles": [...]} + fds  (replaces what was kept)
                        {"op": "drop", "cid"[, "roles": [...]]}      (all, or only those roles)
  holder -> supervisor  at its start, {"op": "kept", "cid", "roles"} + fds per container, then {"op": "end"}
Roles: "pidfd", "stdout", "stderr", "stdin", "master". Standard library only:
the holder imports this and must stay small.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import select
import socket
from collections import deque
from collections.abc import Iterable
from typing import Any

HOLDER_LOCK_NAME = "supervisor-holder.lock"  # held by the holder for its whole life (launch.holder_alive)
MAX_FDS = 8
MAX_MESSAGE = 64 * 1024
HANDOVER_TIMEOUT = 10.0


def _warn(message: str, *args: object) -> None:
    """The supervisor's log (the holder, which imports this module too, does without logging)."""
    import logging

    logging.getLogger("pycompose.supervisor").warning(message, *args)


def send(sock: socket.socket, message: dict[str, Any], fds: Iterable[int] = ()) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    fds = list(fds)
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())])
    else:
        sock.send(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and its descriptors (close-on-exec); (None, []) at EOF."""
    data, ancillary, _flags, _addr = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(MAX_FDS * 4),
                                                  socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
    if not data:
        close_all(fds)
        return None, []
    try:
        message = json.loads(data)
    except ValueError:
        close_all(fds)
        raise
    return (message if isinstance(message, dict) else {}), fds


def close_all(fds: Iterable[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def by_role(message: dict[str, Any], fds: list[int]) -> dict[str, int]:
    roles = [str(r) for r in message.get("roles") or []]
    if len(roles) != len(fds):
        close_all(fds)
        return {}
    return dict(zip(roles, fds, strict=True))


class Keeper:
    """The supervisor's end: hand descriptors to the holder, take them back at start-up.

    Sends never block the supervisor: a holder that reads slowly (the kernel
    queues at most net.unix.max_dgram_qlen packets) gets the rest, with
    duplicates of their descriptors, when its socket is writable again.
    """

    def __init__(self, fd: int, loop: Any) -> None:
        self.sock: socket.socket | None = socket.socket(fileno=fd)
        self.loop = loop  # the supervisor's loop.Loop (watch/unwatch)
        self._queue: deque[tuple[dict[str, Any], list[int]]] = deque()
        os.set_inheritable(fd, False)

    def handover(self) -> dict[str, dict[str, int]]:
        """What the holder kept for the previous supervisor: container id -> role -> fd (ours now)."""
        kept: dict[str, dict[str, int]] = {}
        if self.sock is None:
            return kept
        self.sock.settimeout(HANDOVER_TIMEOUT)
        try:
            while True:
                message, fds = receive(self.sock)
                if message is None or message.get("op") == "end":
                    close_all(fds)
                    break
                if message.get("op") == "kept" and isinstance(message.get("cid"), str):
                    close_all(kept.pop(message["cid"], {}).values())
                    kept[message["cid"]] = by_role(message, fds)
                else:
                    close_all(fds)
        except (OSError, ValueError) as exc:
            _warn("no handover from the holder: %s", exc)
        finally:
            self.sock.setblocking(False)
        return kept

    def keep(self, cid: str, fds: dict[str, int]) -> None:
        self._send({"op": "keep", "cid": cid, "roles": list(fds)}, list(fds.values()))

    def drop(self, cid: str, roles: list[str] | None = None) -> None:
        self._send({"op": "drop", "cid": cid, **({"roles": roles} if roles else {})}, [])

    def _send(self, message: dict[str, Any], fds: list[int]) -> None:
        if self.sock is None:
            return
        if not self._queue:
            try:
                send(self.sock, message, fds)
                return
            except BlockingIOError:
                self.loop.watch(self.sock.fileno(), select.EPOLLOUT, self._flush)
            except OSError as exc:
                self._gone(exc)
                return
        self._queue.append((message, [os.dup(fd) for fd in fds]))  # the originals may close before we send

    def _flush(self, mask: int) -> None:
        while self._queue and self.sock is not None:
            message, fds = self._queue[0]
            try:
                send(self.sock, message, fds)
            except BlockingIOError:
                return
            except OSError as exc:
                self._gone(exc)
                return
            close_all(fds)
            self._queue.popleft()
        if self.sock is not None:
            self.loop.unwatch(self.sock.fileno())

    def _gone(self, exc: OSError) -> None:
        """The holder is gone: we go on without one (a later death of ours loses more)."""
        _warn("the holder is gone (%s): container descriptors are no longer kept", exc)
        assert self.sock is not None
        self.loop.unwatch(self.sock.fileno())
        self.sock.close()
        self.sock = None
        for _message, fds in self._queue:
            close_all(fds)
        self._queue.clear()
