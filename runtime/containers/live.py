"""What the table keeps in memory about each container, and how birth failures read to a client."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import anyio

from runtime.containers import restart
from runtime.errors import EngineError


@dataclass
class PendingAttach:
    """An attach that came while the container could not be born (the birth at the gate failed): as
    dockerd's attach, it waits for the next start, whose birth hands it the stream before the gate opens,
    or None when that start fails too (the start reports why)."""

    stdin: bool
    ready: anyio.Event = field(default_factory=anyio.Event)
    sock: socket.socket | None = None
    abandoned: bool = False  # the client's attach ended first


@dataclass
class Live:
    """What the table keeps in memory about a container, beside its record."""

    lock: anyio.Lock = field(default_factory=anyio.Lock)
    exited: anyio.Event = field(default_factory=anyio.Event)  # set at the exit of the current run
    removed: anyio.Event = field(default_factory=anyio.Event)
    next_exit: list[anyio.Event] = field(default_factory=list)
    backoff: restart.Backoff = field(default_factory=restart.Backoff)
    restart_scope: anyio.CancelScope | None = None
    started: float = 0.0  # monotonic time of the last start
    in_supervisor: bool = False  # the supervisor has it (at the gate, running, or exited)
    prepared: bool = False  # created in the supervisor and waiting at the gate (attach before start)
    pid: int = 0  # host pid of PID 1, from the supervisor's create
    starting: bool = False  # the supervisor's start is in flight
    pending_exit: tuple[int, bool, str] | None = None  # an exit that came before the start's answer
    pending_attaches: list[PendingAttach] = field(default_factory=list)
    # Between the stop and the start of POST /restart: inspect says Restarting, so that a `logs -f`
    # that sees the `die` keeps following instead of calling it the end.
    api_restart: bool = False

    def drop_attaches(self) -> None:
        """The attaches waiting for a birth end without a stream (the start failed, or the container went)."""
        waiting, self.pending_attaches = self.pending_attaches, []
        for pending in waiting:
            pending.ready.set()

    def cancel_restart(self) -> None:
        """A restart policy's pending restart does not happen."""
        if self.restart_scope is not None:
            self.restart_scope.cancel()
            self.restart_scope = None


def supervisor_failure(exc: Exception) -> EngineError:
    """A failed birth as Docker reports it: 400 when the command cannot run, 503 without a supervisor, else 500."""
    message = str(getattr(exc, "message", "") or exc)
    phase = getattr(exc, "phase", None)
    status = 400 if phase == "exec" else unavailable_status(exc)
    return EngineError(status, f"failed to create task for container: {message}")


def exit_code_of_failure(message: str) -> int:
    if "not found" in message or "no such file" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 128


def unavailable_status(exc: Exception) -> int:
    """503 when no supervisor answers (it died and is being replaced), else 500."""
    return 503 if getattr(exc, "kind", None) == "unavailable" else 500
