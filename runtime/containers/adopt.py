"""Engine boot: records meet the supervisor's containers again.

Containers the supervisor still runs stay running; records whose
containers exited (or vanished with the host) get their exit, then
auto-remove or their restart policy at boot; supervisor containers that
have no record are removed.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from runtime.containers import restart
from runtime.containers.create import now_rfc3339
from runtime.containers.records import Record

if TYPE_CHECKING:
    from runtime.containers.manager import ContainerManager

log = logging.getLogger("pycompose.containers")
CATCH_UP_DELAY = 1.0


async def boot(manager: ContainerManager) -> None:
    """Read the records, match them with what the supervisor runs, and settle the differences."""
    for problem in await anyio.to_thread.run_sync(manager.records.load):
        log.warning("container record skipped: %s", problem)
    uses = {r.id: [str(p["Name"]) for p in r.mounts if p.get("Type") == "volume"] for r in manager.records}
    await anyio.to_thread.run_sync(manager.engine.volumes.reconcile, uses)
    states = {str(s.id): s for s in await manager.supervisor.list()}
    for record in manager.records:
        live = manager.live(record)
        state = states.pop(record.id, None)
        status = state.status if state is not None else None
        if state is not None and status == "running":
            live.in_supervisor = True
            live.started = time.monotonic()
            live.pid = int(state.pid or 0)
            record.state.status, record.state.pid = "running", live.pid
            manager.health.start(record)  # as Docker's restore: the status starts over
            manager.records.save(record)
        elif status == "created":
            # A start the engine did not finish: nobody is attached any more.
            await manager.delete_in_supervisor(record.id)
            stopped_while_away(manager, record, record.state.exit_code, False, record.state.finished_at)
        elif state is not None:
            live.in_supervisor = True
            stopped_while_away(manager, record, int(state.exit_code or 0), bool(state.oom_killed),
                               str(state.finished_at or "") or now_rfc3339())
        else:
            # The supervisor never knew it or lost it (host reboot): Docker shows 255.
            stopped_while_away(manager, record, 255, False, now_rfc3339())
    for orphan in states:
        log.warning("supervisor runs %s, which has no record: removing it", orphan[:12])
        with contextlib.suppress(Exception):
            await manager.supervisor.kill(orphan, signal.SIGKILL)
        await manager.delete_in_supervisor(orphan)


def stopped_while_away(manager: ContainerManager, record: Record, code: int, oom: bool, finished_at: str) -> None:
    """A container found not running at boot: its exit, then auto-remove or a restart policy."""
    state = record.state
    if state.status in ("running", "paused", "restarting"):
        state.status, state.pid, state.exit_code, state.oom_killed = "exited", 0, code, oom
        state.finished_at = finished_at
        manager.records.save(record)
        manager.emit(record, "die", {"exitCode": str(code)})
    if record.host_config.get("AutoRemove") and state.status == "exited":
        manager.spawn(manager.auto_remove, record)
    elif state.status == "exited" and restart.restart_at_boot(
        restart.Policy.of(record.host_config), state.exit_code, record.manually_stopped, record.restart_count
    ):
        state.status = "restarting"
        manager.spawn(manager.restart_later, record, 0.0)


async def catch_up(manager: ContainerManager) -> None:
    """Exits between boot's list() and the event subscription would be lost: look once more."""
    await anyio.sleep(CATCH_UP_DELAY)
    for record in manager.records:
        if record.state.status not in ("running", "paused"):
            continue
        with contextlib.suppress(Exception):
            state = await manager.supervisor.state(record.id)
            if state.status == "exited":
                manager.exited(record, state.exit_code, state.oom_killed, state.finished_at)
