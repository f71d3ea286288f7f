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
    from runtime.containers.manager import ContainerManager
    from runtime.containers.records import Record


async def pause(manager: ContainerManager, ref: str) -> None:
    await _switch(manager, ref, frozen=True)


async def unpause(manager: ContainerManager, ref: str) -> None:
    await _switch(manager, ref, frozen=False)


async def _switch(manager: ContainerManager, ref: str, frozen: bool) -> None:
    record = manager.records.get(ref)
    async with manager.live(record).lock:
        status = record.state.status
        if frozen and status == "paused":
            raise conflict(f"Container {record.id} is already paused")
        if frozen and status != "running":
            raise conflict(f"Container {record.id} is not running")
        if not frozen and status != "paused":
            raise conflict(f"Container {record.id} is not paused")
        await freeze(manager, record, frozen)
        record.state.status = "paused" if frozen else "running"
        manager.records.save(record)
    manager.emit(record, "pause" if frozen else "unpause")


async def freeze(manager: ContainerManager, record: Record, frozen: bool) -> None:
    try:
        await manager.supervisor.freeze(record.id, frozen)
    except Exception as exc:
        what = "pause" if frozen else "unpause"
        raise EngineError(500, f"Cannot {what} container {record.id}: {exc}") from exc
