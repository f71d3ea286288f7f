"""HTTP/1.1 over the engine's sockets (unix, tcp, tcp with TLS): one task per connection, h11 for the protocol.

The server reads a request head, hands the handler a Request whose body is
read lazily off the connection (content-length or chunked), and writes the
Response: bytes with a Content-Length, or a stream of chunks. Connections are
kept alive between requests unless either side says otherwise. A response
with a hijack hook turns the connection into a raw byte stream after a
`101 UPGRADED` (Docker's attach/exec).

Connections are accepted through a ConnectionPool (runtime/connections.py):
the server survives running out of file descriptors, holds at most a set
number of connections, and closes one that waits longer than the idle
timeout for its next request head. Requests in progress, streamed responses
and hijacked connections are never cut.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs, unquote

import anyio
import anyio.abc
import h11

from runtime.api.errors import EngineError, error_body
from runtime.api.http import RawStream, Request, Response, engine_error_in, error_response
from runtime.connections import ConnectionLimits, ConnectionPool, Slot

App = Callable[[Request], Awaitable[Response]]

log = logging.getLogger("pycompose.api")

READ_SIZE = 65536
BODY_READ_SIZE = 1 << 20  # a request body's reads: fewer trips through h11 and the loop
# Go's http.Server allows 1 MiB of request head (registry auth headers are big).
MAX_HEAD = 1024 * 1024
# How much of an unread request body we swallow to keep the connection alive;
# past that, closing is cheaper than reading.
DRAIN_LIMIT = 1024 * 1024

_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError)
_RAW_STREAM = "application/vnd.docker.raw-stream"


class ClientGone(Exception):
    """The client closed or broke the connection in the middle of a request."""


Wrap = Callable[[anyio.abc.ByteStream], Awaitable[anyio.abc.ByteStream]]


def tls_wrapper(context: ssl.SSLContext) -> Wrap:
    """Server-side TLS on each accepted connection (the handshake runs in the connection's task)."""
    from runtime.api import tls

    prepared = tls.prepare(context)
    return lambda stream: tls.wrap(stream, prepared)


async def serve(listener: anyio.abc.SocketListener, app: App, limits: ConnectionLimits | None = None,
                wrap: Wrap | None = None) -> None:
    """Accept connections until cancelled, each in its own task (`wrap`: TLS on each)."""
    pool = ConnectionPool("API", limits or ConnectionLimits(), log)
    log.info("%s", pool.describe())
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(pool.close_idle_forever)
        while True:
            stream, slot = await pool.accept(listener)
            tasks.start_soon(serve_connection, stream, app, slot, wrap)


async def serve_connection(stream: anyio.abc.ByteStream, app: App, slot: Slot, wrap: Wrap | None = None) -> None:
    """Serve one connection to its end; never raises (it would stop the listener)."""
    try:
        with slot:
            if wrap is not None:
                try:
                    stream = await wrap(stream)
                except (TimeoutError, *_GONE, OSError) as exc:  # no certificate, a bad one, not TLS at all
                    log.info("TLS handshake failed: %s", exc.__cause__ or exc)
                    await stream.aclose()
                    return
            async with stream, anyio.create_task_group() as tasks:
                await _Connection(stream, app, tasks, slot).run()
                # Work a handler started for a response that is now finished or
                # abandoned must not outlive the connection.
                tasks.cancel_scope.cancel()
    except Exception:
        log.exception("connection failed")


class _Body:
    """The current request's body, pulled from the connection on demand."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self._started = False
        self.complete = False

    async def receive(self) -> bytes:
        if not self._started:
            self._started = True
            # curl and others hold large uploads back until they are invited.
            if self._conn.h11.they_are_waiting_for_100_continue:
                await self._conn.send(h11.InformationalResponse(status_code=100, headers=[]))
        while not self.complete:
            event = await self._conn.next_event()
            if isinstance(event, h11.Data):
                if event.data:
                    return bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.complete = True
            else:
                raise ClientGone("connection closed in the middle of the request body")
        return b""


class _Connection:
    def __init__(self, stream: anyio.abc.ByteStream, app: App, tasks: anyio.abc.TaskGroup, slot: Slot) -> None:
        self.stream = stream
        self.app = app
        self.tasks = tasks
        self.slot = slot
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)

    async def next_event(self) -> Any:
        """The next h11 event, reading from the socket as needed."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            try:
                size = BODY_READ_SIZE if self.h11.their_state is h11.SEND_BODY else READ_SIZE
                data = await self.stream.receive(size)
            except _GONE:
                data = b""
            self.h11.receive_data(data)

    async def send(self, event: Any) -> None:
        data = self.h11.send(event)
        if data:
            await self.stream.send(data)

    async def run(self) -> None:
        while True:
            try:
                with self.slot.waiting():
                    event = await self.next_event()
            except ClientGone as exc:
                if self.slot.closed_because is None:
                    await self._refuse(exc)
                event = None
            if self.slot.closed_because is not None and not isinstance(event, h11.Request):
                log.debug("closed a connection waiting for a request %s", self.slot.closed_because)
                return
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed (or PAUSED after a refused upgrade)
            body = _Body(self)
            request = _make_request(event, body, self.tasks)
            try:
                response = await self._call_app(request)
                if response.hijack is not None:
                    await self._hijack(response, body)
                    return
                if not await self._respond(request, response):
                    return
                if not await _drain(body):
                    return
            except (ClientGone, *_GONE):
                return
            if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                return  # h11 says close: Connection: close, HTTP/1.0, ...
            self.h11.start_next_cycle()

    async def _call_app(self, request: Request) -> Response:
        try:
            response = await self.app(request)
        except ClientGone:
            raise
        except Exception as exc:
            response = _failure_response(request, exc)
        if response.status >= 400 and isinstance(response.body, bytes):
            log.debug("%s %s -> %d %s", request.method, request.path, response.status, response.body.strip())
        else:
            log.debug("%s %s -> %d", request.method, request.path, response.status)
        return response

    async def _refuse(self, exc: ClientGone) -> None:
        """Answer a malformed request with 400 when h11 still lets us speak."""
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        cause = exc.__cause__
        status = cause.error_status_hint if isinstance(cause, h11.RemoteProtocolError) else 400
        body = error_body(str(exc))
        try:
            await self.send(_head(status, [("Content-Type", "application/json")], len(body)))
            await self.send(h11.Data(data=body))
            await self.send(h11.EndOfMessage())
        except (h11.LocalProtocolError, *_GONE):
            pass

    async def _respond(self, request: Request, response: Response) -> bool:
        """Send the response; False when the connection cannot be reused."""
        if isinstance(response.body, bytes | bytearray):
            await self.send(_head(response.status, response.headers, len(response.body)))
            if response.body and request.method != "HEAD":
                await self.send(h11.Data(data=response.body))
            await self.send(h11.EndOfMessage())
            return True
        chunks = aiter(response.body)
        try:
            try:
                first = await anext(chunks, None)
            except ClientGone:
                raise
            except Exception as exc:
                # Nothing has been sent yet: the failure can still be a status.
                return await self._respond(request, _failure_response(request, exc))
            await self.send(_head(response.status, response.headers, None))
            while first is not None:
                if first and request.method != "HEAD":
                    await self.send(h11.Data(data=first))
                first = await anext(chunks, None)
            await self.send(h11.EndOfMessage())
            return True
        except (ClientGone, *_GONE):
            return False
        except Exception:
            # The status line is gone: all that is left is to cut the stream
            # short, which the client sees as an incomplete chunked body.
            log.exception("%s %s: response stream failed", request.method, request.path)
            return False
        finally:
            await _close_iterator(chunks)

    async def _hijack(self, response: Response, body: _Body) -> None:
        """Hand the raw connection to the handler (attach, exec start)."""
        assert response.hijack is not None
        # h11 lets the protocol switch only once the request body is complete.
        if not await _drain(body):
            return
        headers = list(response.headers)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", _RAW_STREAM))
        if self.h11.their_state is h11.MIGHT_SWITCH_PROTOCOL:
            headers += [("Connection", "Upgrade"), ("Upgrade", "tcp")]
            await self.send(h11.InformationalResponse(status_code=101, headers=headers, reason=b"UPGRADED"))
        else:
            # A client that did not ask to upgrade gets what Docker gives it:
            # a 200 and then the raw stream, no framing.
            lines = [b"HTTP/1.1 200 OK"] + [f"{k}: {v}".encode() for k, v in headers]
            await self.stream.send(b"\r\n".join(lines) + b"\r\n\r\n")
        pending, _ = self.h11.trailing_data
        await response.hijack(RawStream(self.stream, bytes(pending)))


def _make_request(event: h11.Request, body: _Body, tasks: anyio.abc.TaskGroup) -> Request:
    target = event.target.decode("latin-1")
    path, _, query = target.partition("?")
    headers: dict[str, str] = {}
    for name, value in event.headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return Request(
        method=event.method.decode("ascii"),
        path=unquote(path),
        query=parse_qs(query, keep_blank_values=True),
        headers=headers,
        body=body,
        tasks=tasks,
    )


def _failure_response(request: Request, exc: Exception) -> Response:
    error = engine_error_in(exc)
    if error is None:
        log.error("%s %s failed", request.method, request.path, exc_info=exc)
        error = EngineError(500, str(exc) or type(exc).__name__)
    return error_response(error)


def _head(status: int, headers: list[tuple[str, str]], length: int | None) -> h11.Response:
    if length is not None:
        headers = [*headers, ("Content-Length", str(length))]
    try:
        reason = HTTPStatus(status).phrase.encode()
    except ValueError:
        reason = b""
    return h11.Response(status_code=status, headers=headers, reason=reason)


async def _drain(body: _Body) -> bool:
    """Read what is left of the request body; False if too much is left."""
    left = DRAIN_LIMIT
    while chunk := await body.receive():
        left -= len(chunk)
        if left < 0:
            return False
    return True


async def _close_iterator(chunks: AsyncIterator[bytes] | AsyncIterable[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await cast(Callable[[], Awaitable[None]], aclose)()
