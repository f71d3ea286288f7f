"""Following the supervisor: its events, and its replacement when it dies.

The engine learns of container exits from the supervisor's events (each
handed to the manager's `exited`). When the supervisor dies, the event
connection ends at once ("disconnected"): from then until a new supervisor
answers and its containers are read again, the table's `recovering` is
set and the container routes answer 503 rather than a state that may be
wrong (a container may have exited meanwhile).

The new supervisor normally comes from the holder (supervisor/holder.py),
which starts one as soon as the old one is reaped; `_replace` asks
`ensure_supervisor` in a worker thread all the same, which waits for the
holder's or, when no holder is left, starts a new holder and supervisor.
The new supervisor re-adopts the containers on the descriptors the holder
kept, so their exit codes and output survive. Once the event stream is
subscribed again ("reconnected"), `resync` applies what changed: exits
(with their real codes), containers the supervisor no longer knows (255,
as Docker after a lost shim), and exec sessions, which die with the
supervisor that ran them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread

from runtime.containers.create import now_rfc3339
from runtime.errors import EngineError

if TYPE_CHECKING:
    from runtime.containers.execs import Exec
    from runtime.containers.records import Record
    from runtime.containers.table import ContainerTable

log = logging.getLogger("pycompose.containers")
RETRY_DELAY = 1.0
LOST_EXIT_CODE = 255

# What the manager does with an exit: (record, exit code, OOM-killed, finished at).
OnExit = Callable[["Record", int, bool, str], None]


class Supervision:
    def __init__(self, table: ContainerTable, exited: OnExit, root: Path, prefix: str) -> None:
        self.table = table
        self.exited = exited
        self.root, self.prefix = root, prefix  # the engine's, for a new supervisor
        self.problem = ""  # why no supervisor could be started, while that lasts
        self._replacing = False
        self._doomed: list[Exec] = []  # exec sessions of the supervisor that died

    @property
    def recovering(self) -> bool:
        return self.table.recovering

    def unavailable(self) -> EngineError:
        """The answer of container routes while the supervisor is being replaced."""
        why = f" ({self.problem})" if self.problem else ""
        return EngineError(503, f"the container supervisor died and is being replaced{why}: try again in a moment")

    async def consume(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Follow the supervisor's events until the engine stops."""
        events = self.table.supervisor.events()
        task_status.started()
        async for event in events:
            try:
                await self._on_event(event)
            except Exception:
                log.exception("supervisor event %r failed", event)
        log.error("the supervisor's event stream ended: container exits are no longer seen")

    async def _on_event(self, event: Mapping[str, Any]) -> None:
        table = self.table
        kind, container_id = event.get("event"), str(event.get("id") or "")
        if kind == "exit":
            record = table.records.find(container_id) if container_id else None
            if record is not None and record.id == container_id:
                self.exited(record, int(event.get("exit_code") or 0), bool(event.get("oom_killed")),
                               str(event.get("finished_at") or "") or now_rfc3339())
        elif kind == "exec-exit":
            entry = table.execs.on_exit(container_id, int(event.get("exec_pid") or 0),
                                          int(event.get("exit_code") or 0))
            if entry is not None:
                table.emit_exec(entry, "exec_die", {"exitCode": str(entry.exit_code)})
        elif kind == "disconnected":
            self.lost()
        elif kind == "reconnected":
            await self.resync()  # before any later event: they come after what list() shows

    def lost(self) -> None:
        if not self.recovering:
            log.warning("the container supervisor went away: replacing it")
        self.table.recovering = True
        self._doomed += self.table.execs.running()
        if not self._replacing:
            self._replacing = True
            self.table.spawn(self._replace)

    async def _replace(self) -> None:
        """Make sure a supervisor comes back (the holder's, or a new one); the event stream then reconnects."""
        from runtime.containers.supervisor.launch import ensure_supervisor

        try:
            while self.recovering:
                try:
                    pid = await anyio.to_thread.run_sync(ensure_supervisor, self.root, self.prefix)
                except Exception as exc:
                    self.problem = f"cannot start a new supervisor: {exc}"
                    log.error("%s", self.problem)
                    await anyio.sleep(RETRY_DELAY)
                    continue
                self.problem = ""
                log.info("container supervisor pid %d answers", pid)
                return
        finally:
            self._replacing = False

    async def resync(self) -> None:
        """A supervisor answers again: take what it runs as the truth, then serve again."""
        table = self.table
        while True:  # until a supervisor answers: the events that follow wait for this
            try:
                states = {s.id: s for s in await table.supervisor.list()}
                break
            except Exception as exc:
                log.warning("cannot list the supervisor's containers yet: %s", exc)
                await anyio.sleep(RETRY_DELAY)
        for record in list(table.records):
            state = states.get(record.id)
            if record.state.status not in ("running", "paused") or table.live(record).starting:
                continue
            if state is None:
                self.exited(record, LOST_EXIT_CODE, False, now_rfc3339())
            elif state.status == "exited":
                self.exited(record, state.exit_code, state.oom_killed, state.finished_at or now_rfc3339())
        doomed, self._doomed = self._doomed, []
        for entry in doomed:
            if entry.running:
                table.execs.exited(entry, LOST_EXIT_CODE)
                table.emit_exec(entry, "exec_die", {"exitCode": str(LOST_EXIT_CODE)})
        if self.recovering:
            log.info("container supervisor replaced: %d container(s) re-adopted", len(states))
        table.recovering = False
