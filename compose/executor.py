"""The scheduler's Executor over the Engine API, and the observed state of a project.

Each method is one Engine API call (the wait excepted) and decides nothing:
what to call, and in which order, is the plan's business. Removing what is
already gone counts as done, since a container with `--rm`/AutoRemove or a
concurrent `down` may have removed it first.

A wait follows the container's `/events` (start, die, health_status) from
an inspect taken after subscribing; an engine without `/events`, or a
stream that ends early, falls back to polling the inspect every 50 ms. A
quiet event stream is double-checked with an inspect every second, so an
engine that does not report some transition (health probes, say) only
makes the wait slower, never endless.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from compose import labels as L
from compose.conditions import POLL_INTERVAL, ContainerStatus, Outcome, apply_event, evaluate, status_from_inspect
from compose.observed import ObservedState, observed_state

if TYPE_CHECKING:
    from compose.client import EngineClient, Response

WAIT_EVENTS = ("start", "restart", "die", "health_status", "destroy", "pause", "unpause")
RESYNC_INTERVAL = 1.0
# Status codes of an engine that lacks a route (or the filter we use): poll instead.
_UNSUPPORTED = (400, 404, 405, 501)


def files_tar(files: Sequence[Mapping[str, Any]]) -> bytes:
    """A tar of `{name, mode, uid, gid, content | file}` entries (a `file` is read now)."""
    import io
    import tarfile
    import time
    from pathlib import Path

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in files:
            data = entry["content"].encode() if "content" in entry else Path(entry["file"]).read_bytes()
            info = tarfile.TarInfo(str(entry["name"]))
            info.size, info.mode, info.mtime = len(data), int(entry["mode"]), int(time.time())
            info.uid, info.gid = int(entry["uid"]), int(entry["gid"])
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _not_found(exc: Exception) -> bool:
    from compose.client import EngineError

    return isinstance(exc, EngineError) and exc.status == 404


async def _list(client: EngineClient, path: str, params: Mapping[str, Any] | None = None) -> Any:
    """A list answer; an engine without the route (404) has none of those objects."""
    from compose.client import EngineError

    try:
        return await (await client.get(path, params)).json()
    except EngineError as exc:
        if exc.status == 404:
            return []
        raise


async def observe(client: EngineClient, project: str) -> ObservedState:
    """The project's containers (by label) and every network and volume (by name)."""
    answers: dict[str, Any] = {}

    async def fetch(path: str, params: Mapping[str, Any] | None = None) -> None:
        answers[path] = await _list(client, path, params)

    async with anyio.create_task_group() as tasks:  # three round trips at once
        tasks.start_soon(fetch, "/containers/json", {"all": True, "filters": L.project_filter(project)})
        tasks.start_soon(fetch, "/networks")
        tasks.start_soon(fetch, "/volumes")
    return observed_state(project, answers["/containers/json"] or [], answers["/networks"] or [],
                          answers["/volumes"] or [])


class EngineExecutor:
    """`compose.scheduler.Executor` over an `EngineClient`."""

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
        """Create; an engine before API 1.44 takes one network at create, the others are connected next."""
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

    async def remove_container(self, container: str, volumes: bool, force: bool) -> None:
        try:
            await self._done(await self.client.delete(f"/containers/{container}", {"v": volumes, "force": force}))
        except Exception as exc:
            if not _not_found(exc):
                raise

    async def rename_container(self, container: str, name: str) -> None:
        await self._done(await self.client.post(f"/containers/{container}/rename", {"name": name}))

    async def copy_to_container(self, container: str, path: str, files: Sequence[Mapping[str, Any]]) -> None:
        archive = await anyio.to_thread.run_sync(files_tar, files)
        await self._done(await self.client.put(f"/containers/{container}/archive", {"path": path},
                                                body=archive, headers={"Content-Type": "application/x-tar"}))

    async def inspect(self, container: str) -> dict[str, Any]:
        return dict(await (await self.client.get(f"/containers/{container}/json")).json() or {})

    # waits

    async def _status(self, container: str) -> ContainerStatus:
        try:
            return status_from_inspect(await self.inspect(container))
        except Exception as exc:
            if _not_found(exc):
                return ContainerStatus(container, "removed")
            raise

    async def wait_condition(self, container: str, condition: str) -> Outcome:
        from compose.client import EngineError

        if self.use_events:
            filters = {"type": ["container"], "container": [container], "event": list(WAIT_EVENTS)}
            try:
                response = await self.client.get("/events", {"filters": filters})
            except EngineError as exc:
                if exc.status not in _UNSUPPORTED:
                    raise
            else:
                try:
                    outcome = await self._follow(container, condition, response)
                finally:
                    with anyio.CancelScope(shield=True):
                        await response.aclose()
                if outcome.done:
                    return outcome
        return await self._poll(container, condition)

    async def _poll(self, container: str, condition: str) -> Outcome:
        while True:
            outcome = evaluate(condition, await self._status(container))
            if outcome.done:
                return outcome
            await anyio.sleep(self.poll_interval)

    async def _follow(self, container: str, condition: str, response: Response) -> Outcome:
        """Events after an inspect; a pending outcome means the stream ended undecided."""
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](64)

        async def pump() -> None:
            from compose.client import EngineError

            async with send:
                with contextlib.suppress(EngineError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    async for event in response.json_stream():
                        await send.send(event)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(pump)
            status = await self._status(container)  # after subscribing: nothing falls in between
            outcome = evaluate(condition, status)
            async with receive:
                while not outcome.done:
                    event: dict[str, Any] | None = None
                    with anyio.move_on_after(self.resync_interval):
                        try:
                            event = await receive.receive()
                        except anyio.EndOfStream:
                            break
                    status = await self._status(container) if event is None else apply_event(status, event)
                    outcome = evaluate(condition, status)
            tasks.cancel_scope.cancel()
        return outcome
