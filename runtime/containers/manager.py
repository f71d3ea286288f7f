"""The container manager: lifecycle and restart policies, over the container table and the supervisor.

Runs on the engine's event loop. The supervisor owns the processes; the
table (table.py) owns what the engine holds of each container (records,
live state, execs, events, the supervisor handle, the networks); the
manager decides and acts: create, start, stop, kill, restart, remove,
rename, restart policies and auto-remove, and what boot found (adopt.py).
Every lifecycle change of one container is serialized by its lock; exits
arrive as supervisor events and never wait for a lock (a stop holds the
lock while it waits for the exit).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread

from runtime.containers import adopt, creating, networking, restart
from runtime.containers.create import now_rfc3339
from runtime.containers.create_config import parse_signal
from runtime.containers.gate import hand_over, prepare
from runtime.containers.health_monitor import HealthMonitors
from runtime.containers.live import Live, exit_code_of_failure, supervisor_failure, unavailable_status
from runtime.containers.pausing import freeze
from runtime.containers.records import Record, Records, normalize_name
from runtime.containers.supervision import Supervision
from runtime.containers.table import ContainerTable
from runtime.errors import EngineError, bad_request, conflict

if TYPE_CHECKING:
    from runtime.containers.stores import Stores
    from runtime.containers.supervisor_client import SupervisorClient
    from runtime.network.manager import NetworkManager

log = logging.getLogger("pycompose.containers")

DEFAULT_STOP_TIMEOUT = 10
KILL_WAIT = 10.0
EXIT_NEWS_WAIT = 2.0  # how long an exit the supervisor saw may take to reach the table


class NotModified(Exception):
    """Docker's 304: the container is already in the state asked for."""


class ContainerManager:
    def __init__(self, stores: Stores, supervisor: SupervisorClient, networks: NetworkManager | None = None) -> None:
        self.stores = stores
        self.table = ContainerTable(Records(stores.root / "containers"), supervisor, networks)
        self.health = HealthMonitors(self.table)
        self.supervision = Supervision(self.table, self.exited, stores.root, stores.prefix)

    # -- running ---------------------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Re-adopt what the supervisor runs, apply restart policies, then follow its events (supervision.py)."""
        async with anyio.create_task_group() as tasks:
            self.table.serve_in(tasks)
            await tasks.start(self.supervision.consume)
            await self._adopt(await adopt.boot(self.table, self.stores.volumes))
            await networking.restore(self.table)
            tasks.start_soon(self._catch_up)
            task_status.started()

    async def _adopt(self, found: adopt.Found) -> None:
        """Apply what boot found: running containers stay running, the others get their exit."""
        for seen in found.containers:
            record, live = seen.record, self.table.live(seen.record)
            if seen.kind == "running":
                live.in_supervisor, live.started, live.pid = True, time.monotonic(), seen.pid
                record.state.status, record.state.pid = "running", seen.pid
                self.health.start(record)  # as Docker's restore: the status starts over
                self.table.records.save(record)
                continue
            if seen.kind == "gate":
                # A start the engine did not finish: nobody is attached any more.
                await self.table.delete_in_supervisor(record.id)
            elif seen.kind == "exited":
                live.in_supervisor = True
            self._stopped_while_away(record, seen.exit_code, seen.oom_killed, seen.finished_at)
        await adopt.remove_orphans(self.table, found.orphans)

    def _stopped_while_away(self, record: Record, code: int, oom: bool, finished_at: str) -> None:
        """A container found not running at boot: its exit, then auto-remove or a restart policy."""
        state = record.state
        if state.status in ("running", "paused", "restarting"):
            state.status, state.pid, state.exit_code, state.oom_killed = "exited", 0, code, oom
            state.finished_at = finished_at
            self.table.records.save(record)
            self.table.emit(record, "die", {"exitCode": str(code)})
        if record.host_config.get("AutoRemove") and state.status == "exited":
            self.table.spawn(self.auto_remove, record)
        elif state.status == "exited" and restart.restart_at_boot(
            restart.Policy.of(record.host_config), state.exit_code, record.manually_stopped, record.restart_count
        ):
            state.status = "restarting"
            self.table.spawn(self.restart_later, record, 0.0)

    async def _catch_up(self) -> None:
        async for record, state in adopt.missed_exits(self.table):
            self.exited(record, state.exit_code, state.oom_killed, state.finished_at)

    # -- create ----------------------------------------------------------------------------------

    async def create(self, body: Mapping[str, Any], name: str = "") -> dict[str, Any]:
        return await creating.create(self.table, self.stores, body, name)

    # -- start -----------------------------------------------------------------------------------

    async def start(self, ref: str) -> None:
        record = self.table.records.get(ref)
        live = self.table.live(record)
        async with live.lock:
            status = record.state.status
            if status == "running":
                raise NotModified()
            if status == "paused":
                raise conflict("cannot start a paused container, try unpause instead")
            if status in ("removing", "dead"):
                raise conflict(f"container {record.id} is marked for removal and cannot be started")
            live.cancel_restart()
            record.manually_stopped = False
            record.restart_count = 0
            live.backoff.reset()
            await self._launch(record, live)

    async def _launch(self, record: Record, live: Live) -> None:
        try:
            await prepare(self.table, record, live)
        except Exception as exc:
            live.drop_attaches()
            self._start_failed(record, exc)
            raise supervisor_failure(exc) from exc
        await hand_over(self.table, record, live)
        live.prepared = False
        try:
            await networking.up(self.table, record, live.pid)
        except Exception as exc:
            # The container waits at its gate: deleting it there aborts it, nothing of it ran.
            await self.table.delete_in_supervisor(record.id)
            live.in_supervisor = False
            self._start_failed(record, exc)
            raise networking.start_error(exc) from exc
        live.exited = anyio.Event()
        state = record.state
        previous = (state.status, state.started_at, state.error)
        # Running before the await; an exit reported while start() is in flight waits for its "start" event.
        state.status, state.started_at, state.error = "running", now_rfc3339(), ""
        state.exit_code, state.oom_killed, state.pid = 0, False, live.pid
        live.started = time.monotonic()
        live.starting = True
        try:
            started_at = await self.table.supervisor.start(record.id)
        except Exception as exc:
            state.status, state.started_at, state.error = previous
            networking.down(self.table, record, live.pid)
            self._start_failed(record, exc)
            raise supervisor_failure(exc) from exc
        finally:
            live.starting = False
        if started_at and not started_at.startswith("0001"):
            state.started_at = started_at
        self.health.start(record)  # "starting" again before anyone hears of the start
        self.table.records.save(record)
        self.table.emit(record, "start")
        if live.pending_exit is not None:
            pending, live.pending_exit = live.pending_exit, None
            self.exited(record, *pending)

    def _start_failed(self, record: Record, exc: Exception) -> None:
        message = str(getattr(exc, "message", "") or exc)
        record.state.error = message
        record.state.exit_code = getattr(exc, "exit_code", None) or exit_code_of_failure(message)
        if record.state.status != "created":
            record.state.status = "exited"
        self.table.records.save(record)
        if record.host_config.get("AutoRemove"):
            self.table.spawn(self.auto_remove, record)

    # -- exits and restarts ----------------------------------------------------------------------

    def exited(self, record: Record, code: int, oom: bool, finished_at: str) -> None:
        live = self.table.live(record)
        state = record.state
        if state.status not in ("running", "paused"):
            return
        if live.starting:
            live.pending_exit = (code, oom, finished_at)
            return
        self.health.stop(record.id)
        networking.down(self.table, record, state.pid)
        state.status, state.pid, state.exit_code, state.oom_killed = "exited", 0, code, oom
        state.finished_at = finished_at
        ran_for = time.monotonic() - live.started
        if oom:
            self.table.emit(record, "oom")
        self.table.emit(record, "die", {"exitCode": str(code)})
        self.table.execs.container_gone(record.id)
        policy = restart.Policy.of(record.host_config)
        if record.host_config.get("AutoRemove"):
            self.table.spawn(self.auto_remove, record)
        elif restart.should_restart(policy, code, record.manually_stopped, record.restart_count):
            state.status = "restarting"
            self.table.spawn(self.restart_later, record, live.backoff.next(ran_for))
        self.table.records.save(record)
        live.exited.set()
        for waiter in live.next_exit:
            waiter.set()
        live.next_exit.clear()

    async def restart_later(self, record: Record, delay: float) -> None:
        live = self.table.live(record)
        with anyio.CancelScope() as scope:
            live.restart_scope = scope
            await anyio.sleep(delay)
            async with live.lock:
                live.restart_scope = None
                if record.state.status != "restarting" or self.table.records.find(record.id) is not record:
                    return
                record.restart_count += 1
                try:
                    await self._launch(record, live)
                except Exception as exc:
                    log.warning("restart of %s failed: %s", record.name, exc)
                    record.state.status = "exited"
                    self.table.records.save(record)
        if live.restart_scope is scope:
            live.restart_scope = None

    async def auto_remove(self, record: Record) -> None:
        if self.table.records.find(record.id) is record:
            with contextlib.suppress(EngineError):
                await self.remove(record.id, force=True, volumes=True)

    # -- stop, kill, restart ---------------------------------------------------------------------

    async def stop(self, ref: str, timeout: int | None = None, signal_name: str = "") -> None:
        record = self.table.records.get(ref)
        live = self.table.live(record)
        async with live.lock:
            if record.state.status == "restarting":
                self._stop_restarting(record, live)
                self.table.emit(record, "stop")
                return
            if record.state.status not in ("running", "paused"):
                raise NotModified()
            # Saved with the exit (`exited`), a moment later: one write fewer on the event loop.
            record.manually_stopped = True
            stop_signal = parse_signal(signal_name or None, int(record.spec.get("stop_signal") or signal.SIGTERM))
            if timeout is None:
                configured = record.config.get("StopTimeout")
                timeout = int(configured) if configured is not None else DEFAULT_STOP_TIMEOUT
            await self._signal(record, stop_signal, stopping=True)
            if not await self._wait_exit(live, timeout):
                await self._signal(record, signal.SIGKILL)
                if not await self._wait_exit(live, KILL_WAIT):
                    raise EngineError(500, f"container {record.id} did not exit after SIGKILL")
            self.table.emit(record, "stop")

    def _stop_restarting(self, record: Record, live: Live) -> None:
        live.cancel_restart()
        record.state.status = "exited"
        record.manually_stopped = True
        self.table.records.save(record)

    async def _signal(self, record: Record, number: int, stopping: bool = False) -> None:
        self.table.emit(record, "kill", {"signal": str(number)})
        try:
            await self.table.supervisor.kill(record.id, number)
        except Exception as exc:
            # The process may have just exited, its exit still on the way from the supervisor: that
            # is not a failure to signal it (as dockerd, whose kill of an exiting process succeeds).
            if record.state.status in ("running", "paused") and not await self._wait_exit(
                    self.table.live(record), EXIT_NEWS_WAIT):
                raise EngineError(unavailable_status(exc), f"cannot kill container {record.id}: {exc}") from exc
            return
        if record.state.status == "paused" and (stopping or number in (signal.SIGKILL, _stop_signal(record))):
            # As Docker: a paused container is resumed after its stop signal or SIGKILL, to act on it.
            await freeze(self.table, record, False)
            record.state.status = "running"
            self.table.records.save(record)

    async def _wait_exit(self, live: Live, timeout: float) -> bool:
        if timeout < 0:
            await live.exited.wait()
            return True
        with anyio.move_on_after(timeout):
            await live.exited.wait()
        return live.exited.is_set()

    async def kill(self, ref: str, signal_name: str = "") -> None:
        record = self.table.records.get(ref)
        live = self.table.live(record)
        number = parse_signal(signal_name or None, signal.SIGKILL)
        if record.state.status == "restarting":
            self._stop_restarting(record, live)
            return
        if record.state.status not in ("running", "paused"):
            raise conflict(f"Cannot kill container: {ref}: Container {record.id} is not running")
        if number in (signal.SIGKILL, _stop_signal(record)):
            record.manually_stopped = True
            self.table.records.save(record)
        await self._signal(record, number)
        if number == signal.SIGKILL:
            await self._wait_exit(live, KILL_WAIT)

    async def restart(self, ref: str, timeout: int | None = None, signal_name: str = "") -> None:
        record = self.table.records.get(ref)
        live = self.table.live(record)
        live.api_restart = True
        try:
            with contextlib.suppress(NotModified):
                await self.stop(record.id, timeout, signal_name)
            with contextlib.suppress(NotModified):
                await self.start(record.id)
        finally:
            live.api_restart = False
        self.table.emit(record, "restart")

    # -- remove, rename ----------------------------------------------------------------------------

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        record = self.table.records.get(ref)
        live = self.table.live(record)
        if record.state.status == "removing":
            raise conflict(f"removal of container {record.id} is already in progress")
        if record.state.running and not force:
            raise conflict(f"You cannot remove a running container {record.id}. Stop the container before "
                           "attempting removal or force remove")
        async with live.lock:
            if self.table.records.find(record.id) is not record:
                return
            live.cancel_restart()
            if record.state.status in ("running", "paused"):
                record.manually_stopped = True
                await self._signal(record, signal.SIGKILL)
                await self._wait_exit(live, KILL_WAIT)
            record.state.status = "removing"
            if live.in_supervisor:
                await self.table.delete_in_supervisor(record.id)
            self.health.stop(record.id)
            trash = self.table.records.forget(record)
            self.table.execs.forget_container(record.id)
            self.table.forget_live(record.id)
            await networking.removed(self.table, record)
            await anyio.to_thread.run_sync(lambda: self.stores.volumes().release_container(record.id, volumes))
            await anyio.to_thread.run_sync(_remove_trees, [trash])
            self.table.emit(record, "destroy")
            live.removed.set()
            live.drop_attaches()
            for waiter in live.next_exit:
                waiter.set()

    def rename(self, ref: str, new_name: str) -> None:
        record = self.table.records.get(ref)
        name = normalize_name(new_name)
        if name == record.name:
            raise bad_request("Renaming a container with the same name as its current name")
        old = record.name
        self.table.records.rename(record, name)
        networking.renamed(self.table, record)
        self.table.emit(record, "rename", {"oldName": "/" + old})


def _remove_trees(paths: Sequence[os.PathLike[str] | str | None]) -> None:
    for path in paths:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def _stop_signal(record: Record) -> int:
    return int(record.spec.get("stop_signal") or signal.SIGTERM)
