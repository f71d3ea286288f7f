"""Engine boot: records meet the supervisor's containers again.

`boot` reads the records, settles the volumes' users, and reports what the
supervisor has of each container (`Found`): still running, waiting at its
gate (a start the engine did not finish), exited while the engine was away,
or lost (the supervisor never knew it, or lost it with the host). The
manager applies that: running ones stay running, the others get their exit
and then auto-remove or their restart policy. Supervisor containers without
a record are removed here.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.to_thread

from runtime.containers.create import now_rfc3339
from runtime.containers.records import Record

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable
    from runtime.volumes.local import VolumeStore

log = logging.getLogger("pycompose.containers")
CATCH_UP_DELAY = 1.0
LOST_EXIT_CODE = 255  # Docker's code for a container whose process nobody can account for


@dataclass(frozen=True)
class Seen:
    """One record's container as the supervisor has it at boot."""

    record: Record
    kind: Literal["running", "gate", "exited", "lost"]
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    finished_at: str = ""


@dataclass(frozen=True)
class Found:
    containers: tuple[Seen, ...]
    orphans: tuple[str, ...]  # ids the supervisor runs that have no record


async def boot(table: ContainerTable, volumes: Callable[[], VolumeStore]) -> Found:
    """Read the records, settle the volumes' users, and match the records with what the supervisor runs."""
    for problem in await anyio.to_thread.run_sync(table.records.load):
        log.warning("container record skipped: %s", problem)
    uses = {r.id: [str(p["Name"]) for p in r.mounts if p.get("Type") == "volume"] for r in table.records}
    await anyio.to_thread.run_sync(lambda: volumes().reconcile(uses))
    states = {str(s.id): s for s in await table.supervisor.list()}
    return match(list(table.records), states)


def match(records: list[Record], states: Mapping[str, Any]) -> Found:
    """Each record with its supervisor state (`states` by id: status, pid, exit_code, oom_killed, finished_at)."""
    left = dict(states)
    seen = []
    for record in records:
        state = left.pop(record.id, None)
        status = state.status if state is not None else None
        if state is not None and status == "running":
            seen.append(Seen(record, "running", pid=int(state.pid or 0)))
        elif status == "created":
            seen.append(Seen(record, "gate", exit_code=record.state.exit_code, finished_at=record.state.finished_at))
        elif state is not None:
            seen.append(Seen(record, "exited", exit_code=int(state.exit_code or 0), oom_killed=bool(state.oom_killed),
                             finished_at=str(state.finished_at or "") or now_rfc3339()))
        else:
            seen.append(Seen(record, "lost", exit_code=LOST_EXIT_CODE, finished_at=now_rfc3339()))
    return Found(tuple(seen), tuple(left))


async def remove_orphans(table: ContainerTable, orphans: tuple[str, ...]) -> None:
    for orphan in orphans:
        log.warning("supervisor runs %s, which has no record: removing it", orphan[:12])
        with contextlib.suppress(Exception):
            await table.supervisor.kill(orphan, signal.SIGKILL)
        await table.delete_in_supervisor(orphan)


async def missed_exits(table: ContainerTable) -> AsyncIterator[tuple[Record, Any]]:
    """Exits between boot's list() and the event subscription would be lost: look once more, a moment later.

    Yields the records that run for us and not for the supervisor, with its state of them."""
    await anyio.sleep(CATCH_UP_DELAY)
    for record in list(table.records):
        if record.state.status not in ("running", "paused"):
            continue
        try:
            state = await table.supervisor.state(record.id)
        except Exception:
            continue
        if state.status == "exited":
            yield record, state
