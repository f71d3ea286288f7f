"""Docker's wait conditions (`POST /containers/{id}/wait`): not-running, next-exit, removed.

The wait is registered when the request comes (before `docker run` starts
the container) and answered from the container's `Live` events, which the
manager sets at each exit and at removal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from runtime.errors import bad_request

if TYPE_CHECKING:
    from runtime.containers.table import ContainerTable


def waiter(table: ContainerTable, ref: str, condition: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    """Register a wait now (before the client starts the container); await the returned call for the result."""
    record = table.records.get(ref)
    live = table.live(record)
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
