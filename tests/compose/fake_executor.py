"""An in-memory Executor (a double of the Engine API) for the scheduler: it records each call and when it ran.

Only the pure layers (plan, scheduler) are tested against it; real engines
come with the integration tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from compose.conditions import ContainerStatus, Outcome, wait_polling


@dataclass
class Call:
    method: str
    target: str
    args: dict[str, Any]
    start: float
    end: float = -1.0


@dataclass
class FakeExecutor:
    delay: float = 0.02
    delays: dict[str, float] = field(default_factory=dict)  # by target (or method)
    failures: dict[tuple[str, str], Exception] = field(default_factory=dict)  # (method, target) -> error
    statuses: dict[str, list[ContainerStatus]] = field(default_factory=dict)  # container -> what polls see
    calls: list[Call] = field(default_factory=list)
    active: int = 0
    max_active: int = 0

    async def _call(self, method: str, target: str, **args: Any) -> None:
        call = Call(method, target, args, anyio.current_time())
        self.calls.append(call)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await anyio.sleep(self.delays.get(target, self.delays.get(method, self.delay)))
            if (method, target) in self.failures:
                raise self.failures[(method, target)]
        finally:
            self.active -= 1
            call.end = anyio.current_time()

    # queries for tests

    def find(self, method: str, target: str) -> Call:
        found = [c for c in self.calls if c.method == method and c.target == target]
        assert len(found) == 1, (method, target, [(c.method, c.target) for c in self.calls])
        return found[0]

    def methods(self) -> list[tuple[str, str]]:
        return [(c.method, c.target) for c in self.calls]

    def overlap(self, first: Call, second: Call) -> bool:
        return first.start < second.end and second.start < first.end

    # the Executor protocol

    async def create_network(self, name: str, body: Mapping[str, Any]) -> None:
        await self._call("create_network", name, body=body)

    async def remove_network(self, name: str) -> None:
        await self._call("remove_network", name)

    async def connect_network(self, network: str, container: str, body: Mapping[str, Any]) -> None:
        await self._call("connect_network", container, network=network)

    async def disconnect_network(self, network: str, container: str, force: bool) -> None:
        await self._call("disconnect_network", container, network=network)

    async def create_volume(self, name: str, body: Mapping[str, Any]) -> None:
        await self._call("create_volume", name, body=body)

    async def remove_volume(self, name: str) -> None:
        await self._call("remove_volume", name)

    async def create_container(self, name: str, body: Mapping[str, Any], platform: str | None) -> str:
        await self._call("create_container", name, body=body)
        return f"id-{name}"

    async def start_container(self, container: str) -> None:
        await self._call("start_container", container)

    async def stop_container(self, container: str, timeout: int | None) -> None:
        await self._call("stop_container", container, timeout=timeout)

    async def restart_container(self, container: str, timeout: int | None) -> None:
        await self._call("restart_container", container, timeout=timeout)

    async def kill_container(self, container: str, signal: str | None) -> None:
        await self._call("kill_container", container, signal=signal)

    async def pause_container(self, container: str) -> None:
        await self._call("pause_container", container)

    async def unpause_container(self, container: str) -> None:
        await self._call("unpause_container", container)

    async def remove_container(self, container: str, volumes: bool, force: bool) -> None:
        await self._call("remove_container", container, volumes=volumes)

    async def rename_container(self, container: str, name: str) -> None:
        await self._call("rename_container", container, name=name)

    async def copy_to_container(self, container: str, path: str, files: Sequence[Mapping[str, Any]]) -> None:
        await self._call("copy_to_container", container, path=path, files=files)

    async def wait_condition(self, container: str, condition: str) -> Outcome:
        call = Call("wait_condition", container, {"condition": condition}, anyio.current_time())
        self.calls.append(call)
        script = list(self.statuses.get(container) or [ContainerStatus(container, "running", started_at=1.0)])

        async def fetch() -> ContainerStatus:
            return script.pop(0) if len(script) > 1 else script[0]

        try:
            return await wait_polling(condition, fetch, interval=0.005)
        finally:
            call.end = anyio.current_time()


def healthy_after(name: str, polls: int, final: str = "healthy") -> list[ContainerStatus]:
    """`polls` answers of a container whose health is starting, then `final`."""
    starting = ContainerStatus(name, "running", healthcheck=True, health="starting", started_at=10.0)
    done = ContainerStatus(name, "running", healthcheck=True, health=final, started_at=10.0, health_at=11.0)
    return [starting] * polls + [done]


def exits_with(name: str, code: int, polls: int = 1, healthcheck: bool = False) -> Sequence[ContainerStatus]:
    running = ContainerStatus(name, "running", healthcheck=healthcheck, started_at=10.0)
    exited = ContainerStatus(name, "exited", exit_code=code, healthcheck=healthcheck, started_at=10.0,
                             finished_at=12.0)
    return [running] * polls + [exited]
