"""Waiting until a container meets a condition (started, healthy, completed…), as cheaply as the engine allows.

A wait follows the container's `/events` (start, die, health_status) from
an inspect taken after subscribing; an engine without `/events`, or a
stream that ends early, falls back to polling the inspect every 50 ms. A
quiet event stream is double-checked with an inspect every second, so an
engine that does not report some transition (health probes, say) only
makes the wait slower, never endless. What the answers mean is
`compose.conditions`'s.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from compose.conditions import POLL_INTERVAL, ContainerStatus, Outcome, apply_event, evaluate, status_from_inspect

if TYPE_CHECKING:
    from compose.client import EngineClient, Response

WAIT_EVENTS = ("start", "restart", "die", "health_status", "destroy", "pause", "unpause")
RESYNC_INTERVAL = 1.0
# Status codes of an engine that lacks a route (or the filter we use): poll instead.
_UNSUPPORTED = (400, 404, 405, 501)


async def wait_condition(client: EngineClient, container: str, condition: str, *,
                         poll_interval: float = POLL_INTERVAL, resync_interval: float = RESYNC_INTERVAL,
                         use_events: bool = True) -> Outcome:
    """Returns once `compose.conditions.evaluate` says met or failed."""
    return await _Wait(client, container, condition, poll_interval, resync_interval).run(use_events)


@dataclass
class _Wait:
    client: EngineClient
    container: str
    condition: str
    poll_interval: float
    resync_interval: float

    async def status(self) -> ContainerStatus:
        from compose.client import EngineError

        try:
            info = await (await self.client.get(f"/containers/{self.container}/json")).json() or {}
        except EngineError as exc:
            if exc.status == 404:
                return ContainerStatus(self.container, "removed")
            raise
        return status_from_inspect(dict(info))

    async def run(self, use_events: bool) -> Outcome:
        from compose.client import EngineError

        if use_events:
            filters = {"type": ["container"], "container": [self.container], "event": list(WAIT_EVENTS)}
            try:
                response = await self.client.get("/events", {"filters": filters})
            except EngineError as exc:
                if exc.status not in _UNSUPPORTED:
                    raise
            else:
                try:
                    outcome = await self.follow(response)
                finally:
                    with anyio.CancelScope(shield=True):
                        await response.aclose()
                if outcome.done:
                    return outcome
        return await self.poll()

    async def poll(self) -> Outcome:
        while True:
            outcome = evaluate(self.condition, await self.status())
            if outcome.done:
                return outcome
            await anyio.sleep(self.poll_interval)

    async def follow(self, response: Response) -> Outcome:
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
            status = await self.status()  # after subscribing: nothing falls in between
            outcome = evaluate(self.condition, status)
            async with receive:
                while not outcome.done:
                    event: dict[str, Any] | None = None
                    with anyio.move_on_after(self.resync_interval):
                        try:
                            event = await receive.receive()
                        except anyio.EndOfStream:
                            break
                    status = await self.status() if event is None else apply_event(status, event)
                    outcome = evaluate(self.condition, status)
            tasks.cancel_scope.cancel()
        return outcome
