"""Docker's pause and unpause: every process of a container frozen through its cgroup's freezer.

The supervisor owns the cgroup and freezes it (v1 freezer.state or v2
cgroup.freeze); here is the state Docker shows (`paused`, still "Running"),
its conflicts and its events. Stopping or killing a paused container resumes
it right after the signal, as Docker does, so that it can act on the signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.errors import EngineError, conflict

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable


async def pause(table: ContainerTable, ref: str) -> None:
    await _switch(table, ref, frozen=True)


async def unpause(table: ContainerTable, ref: str) -> None:
    await _switch(table, ref, frozen=False)


async def _switch(table: ContainerTable, ref: str, frozen: bool) -> None:
    record = table.records.get(ref)
    async with table.live(record).lock:
        status = record.state.status
        if frozen and status == "paused":
            raise conflict(f"Container {record.id} is already paused")
        if frozen and status != "running":
            raise conflict(f"Container {record.id} is not running")
        if not frozen and status != "paused":
            raise conflict(f"Container {record.id} is not paused")
        await freeze(table, record, frozen)
        record.state.status = "paused" if frozen else "running"
        table.records.save(record)
    table.emit(record, "pause" if frozen else "unpause")


async def freeze(table: ContainerTable, record: Record, frozen: bool) -> None:
    try:
        await table.supervisor.freeze(record.id, frozen)
    except Exception as exc:
        what = "pause" if frozen else "unpause"
        raise EngineError(500, f"Cannot {what} container {record.id}: {exc}") from exc
