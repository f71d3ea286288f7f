"""Streams into containers: attach, exec start, resize — the sockets the API relays.

The supervisor hands out a socket per attachment: Docker-framed output
(raw with a TTY) one way, stdin the other, closed when the process exits.
A container that is not running yet is created at its gate first, so
`docker run` can attach before it starts and miss nothing.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from runtime.containers.execs import Exec, exec_spec
from runtime.containers.records import Record
from runtime.errors import conflict

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager

log = logging.getLogger("pycompose.containers")


async def attach(manager: ContainerManager, ref: str, stdin: bool) -> tuple[Record, socket.socket | None]:
    """The container's stream; None when it cannot even be born (the start that follows says why)."""
    record = manager.records.get(ref)
    live = manager.live(record)
    async with live.lock:
        status = record.state.status
        if status in ("restarting", "removing", "dead"):
            raise conflict(f"Container {record.id} is {status}, cannot attach")
        if status not in ("running", "paused"):
            try:
                await manager.prepare(record, live)
            except Exception as exc:
                log.debug("attach to %s: no process: %s", record.name, exc)
                manager.emit(record, "attach")
                return record, None
        sock = await manager.supervisor.attach(record.id, stdin)
        manager.emit(record, "attach")
        return record, sock


async def resize(manager: ContainerManager, ref: str, rows: int, cols: int) -> None:
    record = manager.records.get(ref)
    if record.state.status not in ("running", "paused") and not manager.live(record).prepared:
        raise conflict(f"Container {record.id} is not running")
    await manager.supervisor.resize(record.id, rows, cols)


def create_exec(manager: ContainerManager, ref: str, body: dict[str, object]) -> Exec:
    record = manager.running_record(ref)
    entry = manager.execs.create(record, body)
    argv = entry.argv
    manager.emit(record, f"exec_create: {' '.join(argv)}", {"execID": entry.id})
    return entry


def claim_exec(manager: ContainerManager, exec_id: str) -> tuple[Record, Exec]:
    """Check that an exec can start (its container runs, it never started) and mark it started."""
    entry = manager.execs.get(exec_id)
    record = manager.running_record(entry.container_id)
    return record, manager.execs.claim(entry.id)


async def run_exec(manager: ContainerManager, record: Record, entry: Exec, stdin: bool) -> socket.socket:
    """Start a claimed exec; the socket carries its output (and stdin when asked for)."""
    spec = exec_spec(record, entry, record.state.pid)
    try:
        pid, sock = await manager.supervisor.exec(record.id, spec, tty=entry.tty, stdin=stdin)
    except Exception as exc:
        # As Docker: the exec is over before it ran, with 126 (cannot run) or 127 (not found).
        entry.exit_code = int(getattr(exc, "exit_code", None) or 126)
        entry.done.set()
        raise
    manager.execs.started(entry, pid)
    manager.emit(record, f"exec_start: {' '.join(entry.argv)}", {"execID": entry.id})
    return sock


async def resize_exec(manager: ContainerManager, exec_id: str, rows: int, cols: int) -> None:
    entry = manager.execs.get(exec_id)
    if not entry.running:
        raise conflict(f"Exec {entry.id} is not running")
    await manager.supervisor.resize(entry.pid, rows, cols)
