"""Runs a Plan: every operation as soon as the ones it depends on are done, decisions left to the plan.

An anyio task group walks the DAG; a capacity limiter bounds how many
engine calls run at once (`--parallel`, `COMPOSE_PARALLEL_LIMIT`). Waits on
`depends_on` conditions do not hold a slot: they cost the engine nothing and
must not starve the operations that make them come true.

On the first failure nothing new starts, waits are cancelled, engine calls
already under way finish (a half-made container is worse than a finished
one), and one `PlanError` naming the resource is raised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio

from compose.conditions import Outcome, Verdict, failure_message
from compose.errors import ComposeError, warn
from compose.plan.operations import Kind, Operation, Plan, resolve
from compose.plan.payloads import (
    ContainerCreate,
    CopyFiles,
    Kill,
    NetworkConnect,
    NetworkCreate,
    NetworkDisconnect,
    Remove,
    Rename,
    Restart,
    Stop,
    VolumeCreate,
    Wait,
)

WORKING = "working"
DONE = "done"
WARNING = "warning"
ERROR = "error"


@dataclass(frozen=True)
class ProgressEvent:
    resource: str  # `Container p-web-1`
    status: str  # Docker Compose's words: Creating, Created, Starting, Started, Waiting, Healthy…
    state: str = DONE  # working, done, warning, error
    elapsed: float | None = None  # seconds since the step began (done, warning and error events)
    detail: str = ""
    parent: str = ""  # a layer's service, while pulling: shown indented under it
    current: int = 0  # bytes done and in all, while a layer moves
    total: int = 0


class Executor(Protocol):
    """One method per operation kind, each one Engine API call (the wait excepted)."""

    async def create_network(self, name: str, body: Mapping[str, Any]) -> None: ...
    async def remove_network(self, name: str) -> None: ...
    async def connect_network(self, network: str, container: str, body: Mapping[str, Any]) -> None: ...
    async def disconnect_network(self, network: str, container: str, force: bool) -> None: ...
    async def create_volume(self, name: str, body: Mapping[str, Any]) -> None: ...
    async def remove_volume(self, name: str) -> None: ...
    async def create_container(self, name: str, body: Mapping[str, Any], platform: str | None) -> str:
        """Returns the new container's id."""
        ...
    async def start_container(self, container: str) -> None: ...
    async def stop_container(self, container: str, timeout: int | None) -> None: ...
    async def restart_container(self, container: str, timeout: int | None) -> None: ...
    async def kill_container(self, container: str, signal: str | None) -> None: ...
    async def pause_container(self, container: str) -> None: ...
    async def unpause_container(self, container: str) -> None: ...
    async def remove_container(self, container: str, volumes: bool, force: bool) -> None: ...
    async def rename_container(self, container: str, name: str) -> None: ...
    async def copy_to_container(self, container: str, path: str, files: Sequence[Mapping[str, Any]]) -> None:
        """Writes `files` (see `compose.plan.injected.copied_files`) under `path` in the container."""
        ...
    async def wait_condition(self, container: str, condition: str) -> Outcome:
        """Returns once `compose.conditions.evaluate` says met or failed (see `wait_polling`)."""
        ...


class PlanError(ComposeError):
    """An operation failed; the rest of the plan was not started."""

    def __init__(self, message: str, operation: Operation | None = None, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.cause = cause
        self.others: list[PlanError] = []  # failures of operations that were already running


_WORDS: Mapping[Kind, tuple[str, str, str]] = {  # working, done, verb for errors
    Kind.CREATE_NETWORK: ("Creating", "Created", "create"),
    Kind.REMOVE_NETWORK: ("Removing", "Removed", "remove"),
    Kind.CONNECT_NETWORK: ("Connecting", "Connected", "connect"),
    Kind.DISCONNECT_NETWORK: ("Disconnecting", "Disconnected", "disconnect"),
    Kind.CREATE_VOLUME: ("Creating", "Created", "create"),
    Kind.REMOVE_VOLUME: ("Removing", "Removed", "remove"),
    Kind.CREATE_CONTAINER: ("Creating", "Created", "create"),
    Kind.START_CONTAINER: ("Starting", "Started", "start"),
    Kind.STOP_CONTAINER: ("Stopping", "Stopped", "stop"),
    Kind.RESTART_CONTAINER: ("Restarting", "Started", "restart"),
    Kind.KILL_CONTAINER: ("Killing", "Killed", "kill"),
    Kind.PAUSE_CONTAINER: ("Pausing", "Paused", "pause"),
    Kind.UNPAUSE_CONTAINER: ("Unpausing", "Unpaused", "unpause"),
    Kind.REMOVE_CONTAINER: ("Removing", "Removed", "remove"),
    Kind.RENAME_CONTAINER: ("", "", "rename"),
    Kind.COPY_TO_CONTAINER: ("", "", "copy files into"),
    Kind.WAIT_CONDITION: ("Waiting", "Healthy", "wait for"),
}


async def _call(executor: Executor, op: Operation, results: Mapping[str, str]) -> str | None:
    """The operation's one call, with its Refs resolved; the id of a container it created."""
    target = str(resolve(op.target, results))
    payload = resolve(op.payload, results)
    match op.kind, payload:
        case Kind.CREATE_NETWORK, NetworkCreate(body=body):
            await executor.create_network(target, body)
        case Kind.REMOVE_NETWORK, _:
            await executor.remove_network(target)
        case Kind.CONNECT_NETWORK, NetworkConnect(network=network, body=body):
            await executor.connect_network(network, target, body)
        case Kind.DISCONNECT_NETWORK, NetworkDisconnect(network=network, force=force):
            await executor.disconnect_network(network, target, force)
        case Kind.CREATE_VOLUME, VolumeCreate(body=body):
            await executor.create_volume(target, body)
        case Kind.REMOVE_VOLUME, _:
            await executor.remove_volume(target)
        case Kind.CREATE_CONTAINER, ContainerCreate(name=name, body=body, platform=platform):
            return await executor.create_container(name or target, body, platform)
        case Kind.START_CONTAINER, _:
            await executor.start_container(target)
        case Kind.STOP_CONTAINER, Stop(timeout=timeout):
            await executor.stop_container(target, timeout)
        case Kind.RESTART_CONTAINER, Restart(timeout=timeout):
            await executor.restart_container(target, timeout)
        case Kind.KILL_CONTAINER, Kill(signal=signal):
            await executor.kill_container(target, signal)
        case Kind.PAUSE_CONTAINER, _:
            await executor.pause_container(target)
        case Kind.UNPAUSE_CONTAINER, _:
            await executor.unpause_container(target)
        case Kind.REMOVE_CONTAINER, Remove(volumes=volumes, force=force):
            await executor.remove_container(target, volumes, force)
        case Kind.RENAME_CONTAINER, Rename(name=name):
            await executor.rename_container(target, name)
        case Kind.COPY_TO_CONTAINER, CopyFiles(path=path, files=files):
            await executor.copy_to_container(target, path, files)
        case _:
            raise ValueError(f"no executor call for {op.kind} with {type(payload).__name__}")
    return None


@dataclass
class _Run:
    plan: Plan
    executor: Executor
    on_event: Callable[[ProgressEvent], None]
    limiter: anyio.CapacityLimiter
    remaining: dict[str, int]
    dependents: dict[str, list[str]]
    results: dict[str, str] = field(default_factory=dict)
    failures: list[PlanError] = field(default_factory=list)
    waits: set[anyio.CancelScope] = field(default_factory=set)
    group_start: dict[str, float] = field(default_factory=dict)

    def emit(self, op: Operation, state: str, status: str, started: float | None, detail: str = "") -> None:
        if not status:
            return
        began = self.group_start.get(op.group, started) if op.group else started
        elapsed = None if began is None or state == WORKING else anyio.current_time() - began
        self.on_event(ProgressEvent(op.resource, status, state, elapsed, detail))

    def words(self, op: Operation) -> tuple[str, str]:
        working, done, _ = _WORDS[op.kind]
        return (working if op.progress[0] is None else op.progress[0],
                done if op.progress[1] is None else op.progress[1])

    def fail(self, error: PlanError) -> None:
        if self.failures:
            self.failures[0].others.append(error)
        else:
            self.failures.append(error)
        for scope in self.waits:
            scope.cancel()

    async def run(self, op_id: str, tg: anyio.abc.TaskGroup) -> None:
        op = self.plan[op_id]
        if self.failures:
            return
        if op.kind is Kind.WAIT_CONDITION:
            finished = await self.wait(op)
        else:
            async with self.limiter:
                if self.failures:
                    return
                finished = await self.execute(op)
        if not finished or self.failures:
            return
        for dependent in self.dependents[op_id]:
            self.remaining[dependent] -= 1
            if self.remaining[dependent] == 0:
                tg.start_soon(self.run, dependent, tg)

    async def execute(self, op: Operation) -> bool:
        working, done = self.words(op)
        started = anyio.current_time()
        if op.group:
            self.group_start.setdefault(op.group, started)
        self.emit(op, WORKING, working, started)
        try:
            result = await _call(self.executor, op, self.results)
        except Exception as exc:
            self.emit(op, ERROR, "Error", started, str(exc))
            self.fail(PlanError(f"{op.resource}: {_WORDS[op.kind][2]} failed: {exc}", op, exc))
            return False
        if result is not None:
            self.results[op.id] = result
        self.emit(op, DONE, done, started)
        return True

    async def wait(self, op: Operation) -> bool:
        working, _ = self.words(op)
        started = anyio.current_time()
        self.emit(op, WORKING, working, started)
        wait = op.payload
        if not isinstance(wait, Wait):
            raise TypeError(f"{op.id}: payload {type(wait).__name__}, expected Wait")
        condition, required, service, timeout = wait.condition, wait.required, wait.service, wait.timeout
        outcome: Outcome | None = None
        with anyio.CancelScope() as scope:
            self.waits.add(scope)
            try:
                with anyio.fail_after(timeout if timeout else math.inf):
                    outcome = await self.executor.wait_condition(str(resolve(op.target, self.results)), condition)
            except TimeoutError as exc:
                message = wait.timeout_message
                self.emit(op, ERROR, "Error", started, message)
                self.fail(PlanError(message, op, exc))
                return False
            except Exception as exc:
                self.emit(op, ERROR, "Error", started, str(exc))
                self.fail(PlanError(f"{op.resource}: {_WORDS[op.kind][2]} {condition} failed: {exc}", op, exc))
                return False
            finally:
                self.waits.discard(scope)
        if outcome is None:  # cancelled because something else failed
            return False
        if outcome.verdict is Verdict.MET:
            self.emit(op, DONE, op.progress[1] if op.progress[1] is not None else outcome.status or "Healthy",
                      started)
            return True
        message = failure_message(condition, outcome.reason or "condition not met", service, required)
        if outcome.verdict is Verdict.FAILED and not required:
            self.emit(op, WARNING, "Skipped", started, message)
            warn(message)
            return True
        self.emit(op, ERROR, "Error", started, message)
        self.fail(PlanError(message, op))
        return False


async def run_plan(
    plan: Plan,
    executor: Executor,
    *,
    parallel: int | None = None,
    on_event: Callable[[ProgressEvent], None] = lambda event: None,
) -> dict[str, str]:
    """Run every operation; returns the ids of the containers created, by creating operation.

    `parallel` bounds the engine calls under way (None or < 1: no bound).
    Raises PlanError for the first operation that failed.
    """
    run = _Run(
        plan=plan,
        executor=executor,
        on_event=on_event,
        limiter=anyio.CapacityLimiter(parallel if parallel and parallel > 0 else math.inf),
        remaining={op.id: len(op.depends_on) for op in plan},
        dependents=plan.dependents(),
    )
    async with anyio.create_task_group() as tg:
        for op in plan:
            if not op.depends_on:
                tg.start_soon(run.run, op.id, tg)
    if run.failures:
        raise run.failures[0]
    return run.results
