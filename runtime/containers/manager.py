"""The container manager: records, lifecycle, restart policies and events, over the supervisor.

Runs on the engine's event loop. The supervisor owns the processes; the
manager owns what Docker's API shows (records, names, states, events) and
decides (start, stop, restart policies, auto-remove). Every lifecycle
change of one container is serialized by its lock; exits arrive as
supervisor events and never wait for a lock (a stop holds the lock while
it waits for the exit).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread

from runtime.containers import adopt, execs, networking, restart
from runtime.containers.create import HostFacts, ImageInfo, now_rfc3339, translate, write_bundle
from runtime.containers.create_config import log_options, parse_signal
from runtime.containers.events import EventBus
from runtime.containers.health_monitor import HealthMonitors
from runtime.containers.live import Live, exit_code_of_failure, supervisor_failure, unavailable_status
from runtime.containers.pausing import freeze
from runtime.containers.records import Record, Records, new_id, normalize_name
from runtime.containers.supervision import Supervision
from runtime.errors import EngineError, bad_request, conflict
from runtime.spec import spec_from_dict

if TYPE_CHECKING:
    from runtime.containers.supervisor_client import SupervisorClient
    from runtime.engine import Engine

log = logging.getLogger("pycompose.containers")

DEFAULT_STOP_TIMEOUT = 10
KILL_WAIT = 10.0


class NotModified(Exception):
    """Docker's 304: the container is already in the state asked for."""


class ContainerManager:
    def __init__(self, engine: Engine, supervisor: SupervisorClient) -> None:
        self.engine = engine
        self.supervisor = supervisor
        self.records = Records(engine.root / "containers")
        self.events = EventBus()
        self.execs = execs.Execs()
        self.health = HealthMonitors(self)
        self.supervision = Supervision(self)
        self._live: dict[str, Live] = {}
        self._tasks: anyio.abc.TaskGroup | None = None

    # -- running ---------------------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Re-adopt what the supervisor runs, apply restart policies, then follow its events (supervision.py)."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            await tasks.start(self.supervision.consume)
            await adopt.boot(self)
            await networking.restore(self)
            tasks.start_soon(adopt.catch_up, self)
            task_status.started()

    def spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        assert self._tasks is not None, "ContainerManager.run() is not running"
        self._tasks.start_soon(fn, *args)

    def live(self, record: Record) -> Live:
        return self._live.setdefault(record.id, Live())

    def attrs(self, record: Record) -> dict[str, str]:
        return {**record.labels, "image": record.config.get("Image") or record.image_name, "name": record.name}

    def emit(self, record: Record, action: str, extra: Mapping[str, str] | None = None) -> None:
        self.events.emit("container", action, record.id, {**self.attrs(record), **(extra or {})})

    def emit_exec(self, entry: execs.Exec, action: str, extra: Mapping[str, str] | None = None) -> None:
        record = self.records.find(entry.container_id)
        if record is not None:
            self.emit(record, action, {"execID": entry.id, **(extra or {})})

    # -- create ----------------------------------------------------------------------------------

    async def create(self, body: Mapping[str, Any], name: str = "") -> dict[str, Any]:
        image_ref = str(body.get("Image") or "")
        if not image_ref:
            raise bad_request("no image given: Config.Image is required")
        image = await anyio.to_thread.run_sync(self._image_info, image_ref)
        name = normalize_name(name) if name else self.records.generate_name()
        container_id = new_id(self.records.ids())
        self.records.reserve(name, container_id)
        bundle = self.records.bundle_dir(container_id)
        try:
            host = await anyio.to_thread.run_sync(HostFacts.read)
            net_plan = networking.plan(self, body, name, container_id)

            def work() -> Record:
                volumes = self.engine.volumes
                created = translate(container_id, name, body, image, self.engine.prefix, bundle, host,
                                    volumes.for_container(container_id), networks=net_plan)
                write_bundle(created)
                for point in created.record.mounts:
                    if point.get("Type") == "volume" and "nocopy" not in str(point.get("Mode") or "").split(","):
                        volumes.populate_from_layers(point["Name"], image.layers, point["Destination"])
                created.record.anonymous_volumes = created.anonymous_volumes
                self.records.write(created.record)  # durable, and off the event loop
                return created.record

            record = await anyio.to_thread.run_sync(work)
            self.records.add(record, written=True)
        except BaseException:
            self.records.release(name, container_id)
            await anyio.to_thread.run_sync(lambda: self.engine.volumes.release_container(container_id, True))
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(bundle, ignore_errors=True))
            raise
        self.live(record)
        self.emit(record, "create")
        return {"Id": container_id, "Warnings": []}

    def _image_info(self, ref: str) -> ImageInfo:
        from runtime.images.errors import ImageNotFound

        store = self.engine.images
        try:
            doc = store.inspect(ref)
            layers = store.rootfs_layers(doc["Id"])
        except ImageNotFound as exc:
            raise EngineError(404, str(exc)) from None
        return ImageInfo(doc["Id"], ref, doc.get("Config") or {}, tuple(layers))

    # -- start -----------------------------------------------------------------------------------

    async def start(self, ref: str) -> None:
        record = self.records.get(ref)
        live = self.live(record)
        async with live.lock:
            status = record.state.status
            if status == "running":
                raise NotModified()
            if status == "paused":
                raise conflict("cannot start a paused container, try unpause instead")
            if status in ("removing", "dead"):
                raise conflict(f"container {record.id} is marked for removal and cannot be started")
            self._cancel_restart(live)
            record.manually_stopped = False
            record.restart_count = 0
            live.backoff.reset()
            await self._launch(record, live)

    async def prepare(self, record: Record, live: Live) -> None:
        """Create the container in the supervisor, waiting at its gate (attach before start).

        A birth that fails raises the supervisor's error as is: it is the start that reports it."""
        if live.prepared:
            return
        if live.in_supervisor:
            await self.delete_in_supervisor(record.id)
            live.in_supervisor = False
        spec = networking.start_spec(self, record, spec_from_dict(record.spec))
        driver, max_size, max_file = log_options(record.host_config["LogConfig"])
        live.pid = await self.supervisor.create(spec, max_size=max_size or None, max_file=max_file, log_driver=driver,
                                                stdin_open=bool(record.config.get("OpenStdin")),
                                                tty=bool(record.config.get("Tty")),
                                                stdin_once=bool(record.config.get("StdinOnce")))
        live.in_supervisor = live.prepared = True
        size = record.host_config.get("ConsoleSize") or [0, 0]
        if record.config.get("Tty") and len(size) == 2 and all(size):
            # The terminal has the client's size before the process first looks at it.
            with contextlib.suppress(Exception):
                await self.supervisor.resize(record.id, int(size[0]), int(size[1]))

    async def _launch(self, record: Record, live: Live) -> None:
        try:
            await self.prepare(record, live)
        except Exception as exc:
            self._start_failed(record, exc)
            raise supervisor_failure(exc) from exc
        live.prepared = False
        try:
            await networking.up(self, record, live.pid)
        except Exception as exc:
            # The container waits at its gate: deleting it there aborts it, nothing of it ran.
            await self.delete_in_supervisor(record.id)
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
            started_at = await self.supervisor.start(record.id)
        except Exception as exc:
            state.status, state.started_at, state.error = previous
            networking.down(self, record, live.pid)
            self._start_failed(record, exc)
            raise supervisor_failure(exc) from exc
        finally:
            live.starting = False
        if started_at and not started_at.startswith("0001"):
            state.started_at = started_at
        self.health.start(record)  # "starting" again before anyone hears of the start
        self.records.save(record)
        self.emit(record, "start")
        if live.pending_exit is not None:
            pending, live.pending_exit = live.pending_exit, None
            self.exited(record, *pending)

    def _start_failed(self, record: Record, exc: Exception) -> None:
        message = str(getattr(exc, "message", "") or exc)
        record.state.error = message
        record.state.exit_code = getattr(exc, "exit_code", None) or exit_code_of_failure(message)
        if record.state.status != "created":
            record.state.status = "exited"
        self.records.save(record)
        if record.host_config.get("AutoRemove"):
            self.spawn(self.auto_remove, record)

    # -- exits and restarts ----------------------------------------------------------------------

    def exited(self, record: Record, code: int, oom: bool, finished_at: str) -> None:
        live = self.live(record)
        state = record.state
        if state.status not in ("running", "paused"):
            return
        if live.starting:
            live.pending_exit = (code, oom, finished_at)
            return
        self.health.stop(record.id)
        networking.down(self, record, state.pid)
        state.status, state.pid, state.exit_code, state.oom_killed = "exited", 0, code, oom
        state.finished_at = finished_at
        ran_for = time.monotonic() - live.started
        if oom:
            self.emit(record, "oom")
        self.emit(record, "die", {"exitCode": str(code)})
        self.execs.container_gone(record.id)
        policy = restart.Policy.of(record.host_config)
        if record.host_config.get("AutoRemove"):
            self.spawn(self.auto_remove, record)
        elif restart.should_restart(policy, code, record.manually_stopped, record.restart_count):
            state.status = "restarting"
            self.spawn(self.restart_later, record, live.backoff.next(ran_for))
        self.records.save(record)
        live.exited.set()
        for waiter in live.next_exit:
            waiter.set()
        live.next_exit.clear()

    async def restart_later(self, record: Record, delay: float) -> None:
        live = self.live(record)
        with anyio.CancelScope() as scope:
            live.restart_scope = scope
            await anyio.sleep(delay)
            async with live.lock:
                live.restart_scope = None
                if record.state.status != "restarting" or self.records.find(record.id) is not record:
                    return
                record.restart_count += 1
                try:
                    await self._launch(record, live)
                except Exception as exc:
                    log.warning("restart of %s failed: %s", record.name, exc)
                    record.state.status = "exited"
                    self.records.save(record)
        if live.restart_scope is scope:
            live.restart_scope = None

    def _cancel_restart(self, live: Live) -> None:
        if live.restart_scope is not None:
            live.restart_scope.cancel()
            live.restart_scope = None

    async def auto_remove(self, record: Record) -> None:
        if self.records.find(record.id) is record:
            with contextlib.suppress(EngineError):
                await self.remove(record.id, force=True, volumes=True)

    # -- stop, kill, restart ---------------------------------------------------------------------

    async def stop(self, ref: str, timeout: int | None = None, signal_name: str = "") -> None:
        record = self.records.get(ref)
        live = self.live(record)
        async with live.lock:
            if record.state.status == "restarting":
                self._stop_restarting(record, live)
                self.emit(record, "stop")
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
            self.emit(record, "stop")

    def _stop_restarting(self, record: Record, live: Live) -> None:
        self._cancel_restart(live)
        record.state.status = "exited"
        record.manually_stopped = True
        self.records.save(record)

    async def _signal(self, record: Record, number: int, stopping: bool = False) -> None:
        self.emit(record, "kill", {"signal": str(number)})
        try:
            await self.supervisor.kill(record.id, number)
        except Exception as exc:
            if record.state.status in ("running", "paused"):
                raise EngineError(unavailable_status(exc), f"cannot kill container {record.id}: {exc}") from exc
        if record.state.status == "paused" and (stopping or number in (signal.SIGKILL, _stop_signal(record))):
            # As Docker: a paused container is resumed after its stop signal or SIGKILL, to act on it.
            await freeze(self, record, False)
            record.state.status = "running"
            self.records.save(record)

    async def _wait_exit(self, live: Live, timeout: float) -> bool:
        if timeout < 0:
            await live.exited.wait()
            return True
        with anyio.move_on_after(timeout):
            await live.exited.wait()
        return live.exited.is_set()

    async def kill(self, ref: str, signal_name: str = "") -> None:
        record = self.records.get(ref)
        live = self.live(record)
        number = parse_signal(signal_name or None, signal.SIGKILL)
        if record.state.status == "restarting":
            self._stop_restarting(record, live)
            return
        if record.state.status not in ("running", "paused"):
            raise conflict(f"Cannot kill container: {ref}: Container {record.id} is not running")
        if number in (signal.SIGKILL, _stop_signal(record)):
            record.manually_stopped = True
            self.records.save(record)
        await self._signal(record, number)
        if number == signal.SIGKILL:
            await self._wait_exit(live, KILL_WAIT)

    async def restart(self, ref: str, timeout: int | None = None, signal_name: str = "") -> None:
        record = self.records.get(ref)
        live = self.live(record)
        live.api_restart = True
        try:
            with contextlib.suppress(NotModified):
                await self.stop(record.id, timeout, signal_name)
            with contextlib.suppress(NotModified):
                await self.start(record.id)
        finally:
            live.api_restart = False
        self.emit(record, "restart")

    # -- wait, remove, rename, prune -------------------------------------------------------------

    def waiter(self, ref: str, condition: str) -> Callable[[], Awaitable[dict[str, Any]]]:
        """Register a wait now (before the client starts the container); await the returned call for the result."""
        record = self.records.get(ref)
        live = self.live(record)
        condition = condition or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise bad_request(f"invalid condition: {condition!r}")
        event: anyio.Event | None
        if condition == "removed":
            event = live.removed
        elif condition == "not-running" and not record.state.running:
            event = None
        else:
            event = anyio.Event()
            live.next_exit.append(event)

        async def result() -> dict[str, Any]:
            if event is not None:
                await event.wait()
            error = {"Message": record.state.error} if record.state.error else None
            return {"Error": error, "StatusCode": record.state.exit_code}

        return result

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        record = self.records.get(ref)
        live = self.live(record)
        if record.state.status == "removing":
            raise conflict(f"removal of container {record.id} is already in progress")
        if record.state.running and not force:
            raise conflict(f"You cannot remove a running container {record.id}. Stop the container before "
                           "attempting removal or force remove")
        async with live.lock:
            if self.records.find(record.id) is not record:
                return
            self._cancel_restart(live)
            if record.state.status in ("running", "paused"):
                record.manually_stopped = True
                await self._signal(record, signal.SIGKILL)
                await self._wait_exit(live, KILL_WAIT)
            record.state.status = "removing"
            if live.in_supervisor:
                await self.delete_in_supervisor(record.id)
            self.health.stop(record.id)
            trash = self.records.forget(record)
            self.execs.forget_container(record.id)
            self._live.pop(record.id, None)
            await networking.removed(self, record)
            await anyio.to_thread.run_sync(lambda: self.engine.volumes.release_container(record.id, volumes))
            await anyio.to_thread.run_sync(_remove_trees, [trash])
            self.emit(record, "destroy")
            live.removed.set()
            for waiter in live.next_exit:
                waiter.set()

    async def delete_in_supervisor(self, container_id: str) -> None:
        try:
            await self.supervisor.delete(container_id)
        except Exception as exc:
            log.debug("supervisor delete %s: %s", container_id[:12], exc)

    def rename(self, ref: str, new_name: str) -> None:
        record = self.records.get(ref)
        name = normalize_name(new_name)
        if name == record.name:
            raise bad_request("Renaming a container with the same name as its current name")
        old = record.name
        self.records.rename(record, name)
        networking.renamed(self, record)
        self.emit(record, "rename", {"oldName": "/" + old})

    def image_in_use(self, image_id: str) -> bool:
        return any(r.image_id == image_id for r in list(self.records))

    def running_record(self, ref: str) -> Record:
        record = self.records.get(ref)
        if record.state.status == "paused":
            raise conflict(f"Container {record.id} is paused, unpause the container before exec")
        if record.state.status == "restarting":
            raise conflict(f"Container {record.id} is restarting, wait until the container is running")
        if record.state.status != "running":
            raise conflict(f"Container {record.id} is not running")
        return record


def _remove_trees(paths: Sequence[os.PathLike[str] | str | None]) -> None:
    for path in paths:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def _stop_signal(record: Record) -> int:
    return int(record.spec.get("stop_signal") or signal.SIGTERM)
