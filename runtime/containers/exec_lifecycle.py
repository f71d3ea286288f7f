"""`docker exec` from create to exit: create in a running container, claim, run, resize.

The Exec table (execs.py) remembers each session; here is what the API's
exec routes and the health monitor's probes do with one: `create_exec`
(Docker's `exec_create` event), `claim_exec` (once only, its container
running), `run_exec` (the supervisor forks it; the socket carries its
output and stdin) and `resize_exec`. Exits come as supervisor events
(supervision.py).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from runtime.containers.execs import Exec, exec_spec
from runtime.containers.links import link_vars
from runtime.errors import conflict

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable


def create_exec(table: ContainerTable, ref: str, body: dict[str, object]) -> Exec:
    record = table.running_record(ref)
    entry = table.execs.create(record, body)
    table.emit(record, f"exec_create: {' '.join(entry.argv)}", {"execID": entry.id})
    return entry


def claim_exec(table: ContainerTable, exec_id: str) -> tuple[Record, Exec]:
    """Check that an exec can start (its container runs, it never started) and mark it started."""
    entry = table.execs.get(exec_id)
    record = table.running_record(entry.container_id)
    return record, table.execs.claim(entry.id)


async def run_exec(table: ContainerTable, record: Record, entry: Exec, stdin: bool) -> socket.socket:
    """Start a claimed exec; the socket carries its output (and stdin when asked for)."""
    spec = exec_spec(record, entry, record.state.pid, link_vars(table, record))
    try:
        pid, sock = await table.supervisor.exec(record.id, spec, tty=entry.tty, stdin=stdin)
    except Exception as exc:
        # As Docker: the exec is over before it ran, with 126 (cannot run) or 127 (not found).
        entry.exit_code = int(getattr(exc, "exit_code", None) or 126)
        entry.done.set()
        raise
    table.execs.started(entry, pid)
    table.emit(record, f"exec_start: {' '.join(entry.argv)}", {"execID": entry.id})
    return sock


async def resize_exec(table: ContainerTable, exec_id: str, rows: int, cols: int) -> None:
    entry = table.execs.get(exec_id)
    if not entry.running:
        raise conflict(f"Exec {entry.id} is not running")
    await table.supervisor.resize(entry.pid, rows, cols)
