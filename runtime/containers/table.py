"""The container table: the one owner of what the engine holds of its containers while it runs.

Records (durable), what lives beside them in memory (`Live`: locks, exit
events, restart timers), the exec sessions, the event bus, the supervisor
handle (and whether it is being replaced), the network manager, and the task
group background work runs in. Everything is read and changed on the event
loop. The modules that act on containers (lifecycle in manager.py, attach,
exec_lifecycle, pausing, views, networking, health_monitor, copy_in) take
the table; none of them takes the manager.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

import anyio.abc

from runtime.containers.events import EventBus
from runtime.containers.execs import Exec, Execs
from runtime.containers.live import Live
from runtime.containers.records import Record, Records
from runtime.errors import conflict

if TYPE_CHECKING:
    from runtime.containers.supervisor_client import SupervisorClient
    from runtime.network.manager import NetworkManager

log = logging.getLogger("pycompose.containers")


class ContainerTable:
    def __init__(self, records: Records, supervisor: SupervisorClient, networks: NetworkManager | None) -> None:
        self.records = records
        self.events = EventBus()
        self.execs = Execs()
        self.supervisor = supervisor
        self.networks = networks  # None: containers get no bridge networking
        self.recovering = False  # the supervisor died and is being replaced (supervision.py)
        self._live: dict[str, Live] = {}
        self._tasks: anyio.abc.TaskGroup | None = None

    def serve_in(self, tasks: anyio.abc.TaskGroup | None) -> None:
        """The task group `spawn` runs work in (None once it is gone)."""
        self._tasks = tasks

    def spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        assert self._tasks is not None, "the container table has no task group: ContainerManager.run() is not running"
        self._tasks.start_soon(fn, *args)

    def live(self, record: Record) -> Live:
        return self._live.setdefault(record.id, Live())

    def forget_live(self, container_id: str) -> None:
        self._live.pop(container_id, None)

    # -- events ----------------------------------------------------------------------------------

    def attrs(self, record: Record) -> dict[str, str]:
        return {**record.labels, "image": record.config.get("Image") or record.image_name, "name": record.name}

    def emit(self, record: Record, action: str, extra: Mapping[str, str] | None = None) -> None:
        self.events.emit("container", action, record.id, {**self.attrs(record), **(extra or {})})

    def emit_exec(self, entry: Exec, action: str, extra: Mapping[str, str] | None = None) -> None:
        record = self.records.find(entry.container_id)
        if record is not None:
            self.emit(record, action, {"execID": entry.id, **(extra or {})})

    # -- reading ---------------------------------------------------------------------------------

    def running_record(self, ref: str) -> Record:
        """The record of a container that runs (not paused, not restarting): what an exec needs."""
        record = self.records.get(ref)
        if record.state.status == "paused":
            raise conflict(f"Container {record.id} is paused, unpause the container before exec")
        if record.state.status == "restarting":
            raise conflict(f"Container {record.id} is restarting, wait until the container is running")
        if record.state.status != "running":
            raise conflict(f"Container {record.id} is not running")
        return record

    def image_in_use(self, image_id: str) -> bool:
        return any(r.image_id == image_id for r in list(self.records))

    # -- the supervisor --------------------------------------------------------------------------

    async def delete_in_supervisor(self, container_id: str) -> None:
        try:
            await self.supervisor.delete(container_id)
        except Exception as exc:
            log.debug("supervisor delete %s: %s", container_id[:12], exc)
