"""GET /events: the engine's events as a JSON stream, with Docker's since/until and filters.

Without `since`, only events from now on; with it, the remembered ones from
that time first. With `until`, the stream ends at that time (at once when it
is past).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio

from runtime.api.http import Request, Response, json_bytes
from runtime.api.router import Route
from runtime.api.routes_containers import table_of
from runtime.containers.events import check_filters, matches, parse_time
from runtime.engine import Engine


async def events(engine: Engine, request: Request) -> Response:
    table = table_of(engine)
    since, until = parse_time(request.arg("since")), parse_time(request.arg("until"))
    filters = request.filters()
    check_filters(filters)

    def wanted(event: dict[str, object]) -> bool:
        names = {r.id: r.name for r in table.records}
        return matches(event, filters, names)

    async def stream() -> AsyncIterator[bytes]:
        with table.events.listen() as (history, receive):
            yield b""
            if since is not None:
                for past in history:
                    stamp = int(past["timeNano"])
                    if stamp >= since and (until is None or stamp <= until) and wanted(past):
                        yield json_bytes(past)
            while True:
                left = None if until is None else (until - time.time_ns()) / 1e9
                if left is not None and left <= 0:
                    return
                event: dict[str, object] | None = None
                with anyio.move_on_after(left if left is not None else float("inf")):
                    try:
                        event = await receive.receive()
                    except anyio.EndOfStream:
                        return
                if event is None:
                    return
                if wanted(event):
                    yield json_bytes(event)

    return Response(200, stream(), [("Content-Type", "application/json")])


ROUTES: tuple[Route[Engine], ...] = (Route("GET", "/events", events),)
