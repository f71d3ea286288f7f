"""`POST /build` (dockerd's classic builder protocol) and `POST /build/prune`.

The body is the context tar; the answer a stream of `{"stream": …}` lines, `{"aux": …}`, and at
a failure once lines went out an `errorDetail` line (the failing RUN's exit code as its
`code`). A failure before the first line is an HTTP error, as dockerd answers it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread

from runtime.api.bridge import sync_reader
from runtime.api.errors import EngineError, bad_request
from runtime.api.http import Request, Response, json_bytes, json_response
from runtime.api.router import Route
from runtime.engine import Engine

log = logging.getLogger(__name__)

KEEPALIVE = 1.0  # seconds without a line before a blank one tests the connection


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def build_image(engine: Engine, request: Request) -> Response:
    from runtime.build import messages
    from runtime.build.options import parse

    options = parse(request.query, request.headers)
    send, receive = anyio.create_memory_object_stream[Any](64)
    scope = anyio.CancelScope()

    async def produce() -> None:
        from runtime.build import run

        async with send:
            with scope:
                try:
                    images = await anyio.to_thread.run_sync(lambda: engine.images)
                    using = run.Engine(engine.root, images, engine.containers, engine.build_traces)
                    await run.run_build(using, options, sync_reader(request.body.receive), send.send)
                except Exception as exc:
                    await send.send(_Failure(exc))

    request.tasks.start_soon(produce)

    async def lines() -> AsyncIterator[bytes]:
        started = False
        try:
            async with receive:
                while True:
                    with anyio.move_on_after(KEEPALIVE) as idle:
                        try:
                            item = await receive.receive()
                        except anyio.EndOfStream:
                            return
                    if idle.cancelled_caught:
                        if started:
                            # JSON decoders skip whitespace; a client that went away makes this write
                            # fail, which ends the build (a silent RUN would not notice otherwise).
                            yield b"\n"
                        continue
                    if isinstance(item, _Failure):
                        exc = item.exc
                        code = getattr(exc, "code", None)
                        if not started and code is None:
                            if type(exc).__name__ == "BuildFailed":  # the Dockerfile's fault, found before any line
                                raise bad_request(str(exc)) from exc
                            raise exc
                        message = str(getattr(exc, "message", "") or exc) or type(exc).__name__
                        if not isinstance(exc, EngineError) and code is None and type(exc).__name__ != "BuildFailed":
                            log.error("build failed", exc_info=exc)
                        yield json_bytes(messages.error(message, code))
                        return
                    started = True
                    yield json_bytes(item)
        finally:
            scope.cancel()

    return Response(200, lines(), [("Content-Type", "application/json")])


async def prune_build_cache(engine: Engine, request: Request) -> Response:
    from runtime.build.cache import BuildCache
    from runtime.build.context import build_root
    from runtime.build.prune import prune

    keep_text = request.arg("keep-storage") or request.arg("reserved-space") or "0"
    try:
        keep = int(keep_text)
    except ValueError:
        raise bad_request(f"keep-storage is in bytes and expects an integer, got {keep_text}") from None
    spec = request.filters()

    def work() -> dict[str, object]:
        cache = BuildCache(build_root(engine.root) / "cache")
        return prune(cache, engine.images, engine.image_in_use, spec, keep).body()

    return json_response(await anyio.to_thread.run_sync(work))


ROUTES: tuple[Route[Engine], ...] = (
    Route("POST", "/build", build_image),
    Route("POST", "/build/prune", prune_build_cache),
)
