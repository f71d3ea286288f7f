"""A supervisor and engine stores without a kernel: the manager's decisions, tested on their own."""

from __future__ import annotations

import signal
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runtime.containers.create import now_rfc3339
from runtime.containers.manager import ContainerManager
from runtime.containers.stores import Stores
from runtime.images.errors import ImageNotFound
from runtime.spec import ContainerSpec, ExecSpec

IMAGE_ID = "sha256:" + "ee" * 32


@dataclass
class FakeState:
    id: str
    status: str = "created"
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    started_at: str = "0001-01-01T00:00:00Z"
    finished_at: str = "0001-01-01T00:00:00Z"


class SupervisorError(Exception):
    def __init__(self, message: str, phase: str | None = None) -> None:
        super().__init__(message)
        self.message, self.phase = message, phase


@dataclass
class FakeSupervisor:
    """Processes that run until told to exit; SIGTERM is ignored by ids in `stubborn`."""

    states: dict[str, FakeState] = field(default_factory=dict)
    specs: dict[str, ContainerSpec] = field(default_factory=dict)
    stubborn: set[str] = field(default_factory=set)
    fail_start: dict[str, str] = field(default_factory=dict)  # container name -> error
    calls: list[tuple[str, Any]] = field(default_factory=list)
    next_pid: int = 1000
    _send: MemoryObjectSendStream[dict[str, Any]] | None = None
    _receive: MemoryObjectReceiveStream[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self._send, self._receive = anyio.create_memory_object_stream[dict[str, Any]](1000)

    async def create(self, spec: ContainerSpec, *, max_size: int | None, max_file: int, stdin_open: bool,
                     tty: bool, stdin_once: bool = False, log_driver: str = "json-file", log_compress: bool = False,
                     log_attrs: dict[str, str] | None = None) -> int:
        self.calls.append(("create", spec.id))
        if spec.name in self.fail_start:
            raise SupervisorError(self.fail_start[spec.name], "exec")
        self.next_pid += 1
        self.states[spec.id] = FakeState(spec.id, "created", self.next_pid)
        self.specs[spec.id] = spec
        return self.next_pid

    async def start(self, container_id: str) -> str:
        self.calls.append(("start", container_id))
        state = self.states[container_id]
        state.status, state.started_at = "running", now_rfc3339()
        self._emit({"event": "start", "id": container_id})
        return state.started_at

    async def kill(self, container_id: str, sig: int) -> None:
        self.calls.append(("kill", (container_id, sig)))
        state = self.states.get(container_id)
        if state is None or state.status != "running":
            raise SupervisorError("not running")
        if sig == signal.SIGTERM and container_id in self.stubborn:
            return
        if sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
            self.exit(container_id, 128 + sig)

    def exit(self, container_id: str, code: int, oom: bool = False) -> None:
        state = self.states[container_id]
        state.status, state.exit_code, state.oom_killed, state.pid = "exited", code, oom, 0
        state.finished_at = now_rfc3339()
        self._emit({"event": "exit", "id": container_id, "exit_code": code, "oom_killed": oom,
                    "finished_at": state.finished_at})

    async def delete(self, container_id: str) -> None:
        self.calls.append(("delete", container_id))
        state = self.states.get(container_id)
        if state is not None and state.status == "running":
            raise SupervisorError("running")
        self.states.pop(container_id, None)

    async def state(self, container_id: str) -> FakeState:
        return self.states[container_id]

    async def list(self) -> Sequence[FakeState]:
        return list(self.states.values())

    async def attach(self, container_id: str, stdin: bool) -> socket.socket:
        a, b = socket.socketpair()
        b.close()
        return a

    async def exec(self, container_id: str, spec: ExecSpec, *, tty: bool, stdin: bool) -> tuple[int, socket.socket]:
        self.calls.append(("exec", spec))
        self.next_pid += 1
        a, b = socket.socketpair()
        b.close()
        return self.next_pid, a

    async def resize(self, target: Any, rows: int, cols: int) -> None:
        self.calls.append(("resize", (target, rows, cols)))

    def exec_exit(self, container_id: str, pid: int, code: int) -> None:
        self._emit({"event": "exec-exit", "id": container_id, "exec_pid": pid, "exit_code": code})

    def _emit(self, event: dict[str, Any]) -> None:
        assert self._send is not None
        self._send.send_nowait(event)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        assert self._receive is not None
        async for event in self._receive:
            yield event


class FakeImages:
    def __init__(self, layer: Path) -> None:
        self.layer = layer

    def inspect(self, ref: str) -> dict[str, Any]:
        if ref not in ("busybox", "busybox:latest", IMAGE_ID):
            raise ImageNotFound(ref)
        return {"Id": IMAGE_ID, "Config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}}

    def rootfs_layers(self, ref: str) -> list[Path]:
        return [self.layer]

    def resolve(self, ref: str) -> str:
        return self.inspect(ref)["Id"]


class FakeEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = "pyc0000"
        layer = root / "layer"
        (layer / "etc").mkdir(parents=True, exist_ok=True)
        (layer / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        self.images = FakeImages(layer)
        from runtime.volumes import VolumeStore

        self.volumes = VolumeStore(root / "volumes")

    def stores(self) -> Stores:
        """What a ContainerManager takes of an engine."""
        return Stores(self.root, self.prefix, lambda: self.images, lambda: self.volumes)  # type: ignore[arg-type,return-value]


@asynccontextmanager
async def running(root: Path, supervisor: FakeSupervisor | None = None) -> AsyncIterator[ContainerManager]:
    """A container manager over a FakeEngine at `root`, its loop running until the block ends."""
    manager = ContainerManager(FakeEngine(root).stores(), supervisor or FakeSupervisor())  # type: ignore[arg-type]
    async with anyio.create_task_group() as tasks:
        await tasks.start(manager.run)
        try:
            yield manager
        finally:
            tasks.cancel_scope.cancel()
