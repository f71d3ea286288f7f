"""The Engine API calls a plan is made of: `compose.scheduler.Executor` over an `EngineClient`.

Each method is one Engine API call and decides nothing (the wait excepted,
which `compose.waiting` follows through events and inspects): what to call,
and in which order, is the plan's business. Removing what is already gone
counts as done, since a container with `--rm`/AutoRemove or a concurrent
`down` may have removed it first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from compose.conditions import POLL_INTERVAL, Outcome
from compose.waiting import RESYNC_INTERVAL, wait_condition

if TYPE_CHECKING:
    from compose.client import EngineClient, Response


def _not_found(exc: Exception) -> bool:
    from compose.client import EngineError

    return isinstance(exc, EngineError) and exc.status == 404


class EngineCalls:
    """One Engine API call per method (`compose.scheduler.Executor`)."""

    def __init__(self, client: EngineClient, *, poll_interval: float = POLL_INTERVAL,
                 resync_interval: float = RESYNC_INTERVAL, use_events: bool = True) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self.resync_interval = resync_interval
        self.use_events = use_events

    async def _done(self, response: Response) -> None:
        await response.read()

    # networks and volumes

    async def create_network(self, name: str, body: Mapping[str, Any]) -> None:
        await self._done(await self.client.post("/networks/create", json={**body, "Name": name}))

    async def remove_network(self, name: str) -> None:
        try:
            await self._done(await self.client.delete(f"/networks/{name}"))
        except Exception as exc:
            if not _not_found(exc):
                raise

    async def connect_network(self, network: str, container: str, body: Mapping[str, Any]) -> None:
        await self._done(await self.client.post(f"/networks/{network}/connect",
                                                json={**body, "Container": container}))

    async def disconnect_network(self, network: str, container: str, force: bool) -> None:
        await self._done(await self.client.post(f"/networks/{network}/disconnect",
                                                json={"Container": container, "Force": force}))

    async def create_volume(self, name: str, body: Mapping[str, Any]) -> None:
        await self._done(await self.client.post("/volumes/create", json={**body, "Name": name}))

    async def remove_volume(self, name: str) -> None:
        try:
            await self._done(await self.client.delete(f"/volumes/{name}"))
        except Exception as exc:
            if not _not_found(exc):
                raise

    # containers

    async def create_container(self, name: str, body: Mapping[str, Any], platform: str | None) -> str:
        """Create; an engine before API 1.44 takes one network at create, the others are connected next
        (the one method that may make more than one call: what the engine's version allows decides)."""
        from compose.client.versions import split_endpoints

        body, later = split_endpoints(body, await self.client.negotiate())
        response = await self.client.post("/containers/create", {"name": name, "platform": platform}, json=body)
        created = await response.json() or {}
        container = str(created["Id"])
        for network, endpoint in later.items():
            await self.connect_network(network, container, {"EndpointConfig": endpoint})
        return container

    async def start_container(self, container: str) -> None:
        await self._done(await self.client.post(f"/containers/{container}/start"))

    async def stop_container(self, container: str, timeout: int | None) -> None:
        await self._done(await self.client.post(f"/containers/{container}/stop", {"t": timeout}))

    async def restart_container(self, container: str, timeout: int | None) -> None:
        await self._done(await self.client.post(f"/containers/{container}/restart", {"t": timeout}))

    async def kill_container(self, container: str, signal: str | None) -> None:
        await self._done(await self.client.post(f"/containers/{container}/kill", {"signal": signal}))

    async def pause_container(self, container: str) -> None:
        await self._done(await self.client.post(f"/containers/{container}/pause"))

    async def unpause_container(self, container: str) -> None:
        await self._done(await self.client.post(f"/containers/{container}/unpause"))

    async def remove_container(self, container: str, volumes: bool, force: bool) -> None:
        try:
            await self._done(await self.client.delete(f"/containers/{container}", {"v": volumes, "force": force}))
        except Exception as exc:
            if not _not_found(exc):
                raise

    async def rename_container(self, container: str, name: str) -> None:
        await self._done(await self.client.post(f"/containers/{container}/rename", {"name": name}))

    async def copy_to_container(self, container: str, path: str, files: Sequence[Mapping[str, Any]]) -> None:
        from compose.archive import files_tar

        archive = await anyio.to_thread.run_sync(files_tar, files)
        await self._done(await self.client.put(f"/containers/{container}/archive", {"path": path},
                                                body=archive, headers={"Content-Type": "application/x-tar"}))

    async def inspect(self, container: str) -> dict[str, Any]:
        return dict(await (await self.client.get(f"/containers/{container}/json")).json() or {})

    async def wait_condition(self, container: str, condition: str) -> Outcome:
        return await wait_condition(self.client, container, condition, poll_interval=self.poll_interval,
                                    resync_interval=self.resync_interval, use_events=self.use_events)
