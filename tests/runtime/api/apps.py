"""A small application exercising every server path (tests only)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

from runtime.api.errors import not_found
from runtime.api.http import RawStream, Request, Response, json_response
from runtime.api.router import Route, Router


async def hello(ctx: None, request: Request) -> Response:
    return json_response({"hello": "world", "version": request.api_version})


async def echo(ctx: None, request: Request) -> Response:
    data = await request.read()
    return Response(200, data, [("Content-Type", "application/octet-stream")])


async def count(ctx: None, request: Request) -> Response:
    total = 0
    async for chunk in request.chunks():
        total += len(chunk)
    return json_response({"bytes": total})


async def ignore_body(ctx: None, request: Request) -> Response:
    return Response(204)


async def stream(ctx: None, request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one\n", b"", b"two\n", b"three\n"):
            yield part

    return Response(200, chunks(), [("Content-Type", "text/plain")])


async def fail_first(ctx: None, request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        raise not_found("nothing to stream")
        yield b""  # pragma: no cover

    return Response(200, chunks())


async def fail_later(ctx: None, request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("broke in the middle")

    return Response(200, chunks())


async def progress(ctx: None, request: Request) -> Response:
    """A Docker progress stream that fails half-way, split awkwardly across chunks."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"status":"one"}\r\n{"sta'
        yield b'tus":"two"}\r\n'
        yield b'{"errorDetail":{"message":"it broke"},"error":"it broke"}\r\n'

    return Response(200, chunks(), [("Content-Type", "application/json")])


async def boom(ctx: None, request: Request) -> Response:
    raise RuntimeError("handler exploded")


async def hijack(ctx: None, request: Request) -> Response:
    """Like exec start: a JSON body, then raw bytes both ways until EOF."""
    options = await request.json() or {}
    greeting = str(options.get("greeting", "hello")).encode()

    async def take_over(raw: RawStream) -> None:
        await raw.send(greeting + b"\n")
        while True:
            try:
                data = await raw.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                break
            await raw.send(data.upper())
        await raw.send(b"bye\n")
        await raw.aclose()

    return Response(hijack=take_over)


def make_app() -> Router[None]:
    routes: list[Route[None]] = [
        Route("GET", "/hello", hello),
        Route("HEAD", "/hello", hello),
        Route("POST", "/echo", echo),
        Route("POST", "/count", count),
        Route("POST", "/ignore", ignore_body),
        Route("GET", "/stream", stream),
        Route("GET", "/fail-first", fail_first),
        Route("GET", "/fail-later", fail_later),
        Route("GET", "/boom", boom),
        Route("GET", "/progress", progress),
        Route("POST", "/hijack", hijack),
    ]
    return Router(None, routes, [("Server", "test"), ("Api-Version", "1.45")])
