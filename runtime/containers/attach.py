"""Streams into containers: attach and resize — the sockets the API relays.

The supervisor hands out a socket per attachment: Docker-framed output
(raw with a TTY) one way, stdin the other, closed when the process exits.
A container that is not running yet is created at its gate first (gate.py),
so `docker run` can attach before it starts and miss nothing. Exec streams
are exec_lifecycle.py's.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from runtime.containers.gate import prepare
from runtime.containers.live import PendingAttach
from runtime.containers.records import Record
from runtime.errors import conflict

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable

log = logging.getLogger("pycompose.containers")


async def attach(table: ContainerTable, ref: str, stdin: bool) -> tuple[Record, socket.socket | PendingAttach]:
    """The container's stream, or, when it cannot be born yet, a pending attach the next start's birth
    fulfils (as dockerd's attach waits for the start; a failing start then says why)."""
    record = table.records.get(ref)
    live = table.live(record)
    async with live.lock:
        status = record.state.status
        if status in ("restarting", "removing", "dead"):
            raise conflict(f"Container {record.id} is {status}, cannot attach")
        if status not in ("running", "paused"):
            try:
                await prepare(table, record, live)
            except Exception as exc:
                log.debug("attach to %s: no process yet: %s", record.name, exc)
                pending = PendingAttach(stdin)
                live.pending_attaches.append(pending)
                table.emit(record, "attach")
                return record, pending
        sock = await table.supervisor.attach(record.id, stdin)
        table.emit(record, "attach")
        return record, sock


async def resize(table: ContainerTable, ref: str, rows: int, cols: int) -> None:
    record = table.records.get(ref)
    if record.state.status not in ("running", "paused") and not table.live(record).prepared:
        raise conflict(f"Container {record.id} is not running")
    await table.supervisor.resize(record.id, rows, cols)
