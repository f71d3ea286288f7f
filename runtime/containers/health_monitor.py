"""The engine's health-check monitors: one anyio task per running container that has a probe.

A monitor starts when its container starts (the status reset to "starting"
before the "start" event goes out) and is cancelled when the container
exits, restarts or goes away; a cancelled monitor never touches the state
again, so no stale result lands on a newer run. Each probe is an exec in the
container (Docker's `exec_create`/`exec_start`/`exec_die` events included),
with the container's environment, user and working directory; a probe that
outlives its timeout is killed and counts as a failure. Decisions are the
`health.Tracker`'s.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from runtime.containers import health
from runtime.containers.create import now_rfc3339
from runtime.containers.exec_lifecycle import run_exec
from runtime.containers.execs import Exec
from runtime.containers.logs_read import parse_time_ns
from runtime.containers.supervisor.protocol import parse_frames

if TYPE_CHECKING:
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable

log = logging.getLogger("pycompose.containers")

# Docker gives an exec this long to start before the probe counts as failed (not part of Timeout).
EXEC_START_TIMEOUT = 30.0
# After SIGKILL, how long a killed probe may take to be reported gone.
KILL_WAIT = 5.0


class HealthMonitors:
    """The monitor tasks of the engine's containers, by container id."""

    def __init__(self, table: ContainerTable) -> None:
        self.table = table
        self._scopes: dict[str, anyio.CancelScope] = {}

    def running(self, container_id: str) -> bool:
        return container_id in self._scopes

    def start(self, record: Record) -> None:
        """The container (re)started: reset State.Health and run its probes (nothing without a probe)."""
        self.stop(record.id)
        check = health.Check.of(record.config.get("Healthcheck"))
        if check is None:
            return
        record.state.health = health.reset(record.state.health)
        # The start period counts from StartedAt, also for a container re-adopted at engine boot.
        started_ns = parse_time_ns(record.state.started_at)
        since_start = max(0.0, (time.time_ns() - started_ns) / 1e9) if started_ns else 0.0
        started = time.monotonic() - since_start
        tracker = health.Tracker(check, started, record.state.health)
        # The scope exists before the task runs, so a stop that comes first still stops it.
        scope = anyio.CancelScope()
        self._scopes[record.id] = scope
        self.table.spawn(self._run, record, tracker, scope)

    def stop(self, container_id: str) -> None:
        """The container stopped (or is going): no more probes, and no result of a probe in flight."""
        scope = self._scopes.pop(container_id, None)
        if scope is not None:
            scope.cancel()

    async def _run(self, record: Record, tracker: health.Tracker, scope: anyio.CancelScope) -> None:
        first = True
        with scope:
            while True:
                now = time.monotonic()
                delay = tracker.delay(now)
                if first and 0 <= now - tracker.started < delay:
                    # The first probe comes an interval after the process started, not after our
                    # bookkeeping of the start: a service_healthy chain pays that per link.
                    delay -= now - tracker.started
                first = False
                await anyio.sleep(delay)
                if record.state.status != "running" or self.table.recovering:
                    continue  # paused: Docker's monitor does not probe either (nor with no supervisor)
                began, start = time.monotonic(), now_rfc3339()
                try:
                    code, output = await self.probe(record, tracker.check)
                except Exception as exc:  # a monitor must not take the engine's task group down
                    log.exception("health check of %s failed to run", record.name)
                    code, output = -1, str(exc)
                if scope.cancel_called:
                    return
                changed = tracker.observe(health.result(start, now_rfc3339(), code, output), began)
                if changed is not None:
                    self._changed(record, changed)
        if self._scopes.get(record.id) is scope:
            del self._scopes[record.id]

    def _changed(self, record: Record, status: str) -> None:
        table = self.table
        if table.records.find(record.id) is record:
            table.records.save(record)
        table.emit(record, f"health_status: {status}")

    # -- one probe -------------------------------------------------------------------------------

    async def probe(self, record: Record, check: health.Check) -> tuple[int, str]:
        """Run the check once in the container: (exit code, output); -1 when it failed to run or timed out."""
        table = self.table
        argv = check.argv(record.config.get("Shell") or None)
        entry = table.execs.create(record, {"Cmd": argv, "AttachStdout": True, "AttachStderr": True})
        table.emit(record, f"exec_create: {' '.join(argv)}", {"execID": entry.id})
        table.execs.claim(entry.id)
        try:
            with anyio.fail_after(EXEC_START_TIMEOUT):
                sock = await run_exec(table, record, entry, stdin=False)
        except Exception as exc:
            # Remembered as finished, so the exec table trims it like any other.
            entry.started = True
            table.execs.exited(entry, 126)
            message = str(getattr(exc, "message", "") or exc) or type(exc).__name__
            return -1, message
        stream = await anyio.abc.UNIXSocketStream.from_socket(sock)
        output = health.OutputBuffer()
        try:
            async with stream:
                with anyio.move_on_after(check.timeout / health.SECOND_NS) as timer:
                    await _read_output(stream, output)
                    await entry.done.wait()
                if timer.cancelled_caught:
                    await self._kill(entry)
                    return -1, check.timeout_message(output.text())
        except BaseException:
            # Cancelled (the container stops, or the engine): the probe must not outlive its monitor.
            with anyio.CancelScope(shield=True):
                await self._kill(entry)
            raise
        return (entry.exit_code if entry.exit_code is not None else -1), output.text()

    async def _kill(self, entry: Exec) -> None:
        if entry.done.is_set():
            return
        try:
            await self.table.supervisor.exec_kill(entry.pid, signal.SIGKILL)
        except Exception as exc:
            log.debug("killing health probe %d: %s", entry.pid, exc)
        with anyio.move_on_after(KILL_WAIT):
            await entry.done.wait()


async def _read_output(stream: anyio.abc.SocketStream, output: health.OutputBuffer) -> None:
    """Docker-framed stdout and stderr, in arrival order, until the process's stream ends."""
    pending = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        while True:
            pending += await stream.receive()
            frames, pending = parse_frames(pending)
            for _stream, payload in frames:
                output.write(payload)
