"""The Engine API client: Docker's HTTP API over unix://, tcp:// (TLS) or ssh://, on anyio.

`EngineClient` keeps a few idle keep-alive connections, prefixes every path
with the API version it negotiated (versions.py: `min(ours, the engine's)`,
asked of `/_ping` once, remembered per socket by version_cache.py; a fixed
one from `api_version` or $DOCKER_API_VERSION), fits each request to that
version (versions.fit_*: nothing newer reaches an older engine), encodes query parameters the way Docker
expects (booleans as 1/0, lists repeated, mappings such as `filters` as
JSON) and turns error answers into `EngineError(status, message)`. Bodies go
out as bytes, JSON or an async iterator of chunks; responses are read whole
(`json()`, `read()`) or as they arrive (`stream()`, `json_stream()`).
"""

from __future__ import annotations

import json as jsonlib
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import h11

from compose.client import version_cache
from compose.client.connection import Connection, ConnectionLost, RawStream
from compose.client.errors import EngineConnectionError, EngineError
from compose.client.place import DEFAULT_HOST
from compose.client.transport import endpoint
from compose.client.versions import fit_body, fit_params, negotiate, route
from compose.client.wire import (  # noqa: F401 - re-exported: this module's public names
    API_VERSION,
    USER_AGENT,
    Params,
    encode_params,
    error_message,
)
from compose.client.wire import target as wire_target

T = TypeVar("T")
Body = bytes | AsyncIterable[bytes]


class Response:
    """Status and headers of an answer; the body is read on demand.

    Read the body (or call `aclose()`) before dropping a response: that is
    what returns its connection to the pool.
    """

    def __init__(self, client: EngineClient, conn: Connection, head: h11.Response) -> None:
        self.status = head.status_code
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers}
        self._client = client
        self._conn: Connection | None = conn

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    async def stream(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        conn = self._conn
        if conn is None:
            return
        try:
            while chunk := await conn.receive_data():
                yield chunk
        except ConnectionLost as exc:
            self._conn = None
            await conn.aclose()
            raise EngineConnectionError(str(exc)) from None
        self._conn = None
        await self._client._release(conn)

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.stream()])

    async def json(self) -> Any:
        data = await self.read()
        return jsonlib.loads(data) if data.strip() else None

    async def json_stream(self) -> AsyncIterator[dict[str, Any]]:
        """Docker's progress streams: one JSON object after another.

        A message carrying `error` ends the stream with an EngineError, which
        is how Docker reports a failure after the status line was sent.
        """
        decoder = jsonlib.JSONDecoder()
        buffer = ""
        async for chunk in self.stream():
            buffer += chunk.decode()
            while True:
                buffer = buffer.lstrip()
                if not buffer:
                    break
                try:
                    message, end = decoder.raw_decode(buffer)
                except ValueError:
                    break  # incomplete: wait for more
                buffer = buffer[end:]
                if isinstance(message, dict) and message.get("error"):
                    raise EngineError(500, str(message["error"]))
                yield message
        if buffer.strip():
            raise EngineError(500, f"malformed message in the engine's stream: {buffer[:80]!r}")

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.aclose()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class EngineClient:
    """A client for one engine; use as `async with EngineClient(host) as c:`."""

    def __init__(self, host: str = DEFAULT_HOST, api_version: str | None = None, pool_size: int = 4) -> None:
        self.host = host
        self.endpoint = endpoint(host)
        self.path = self.endpoint.path  # the version cache's key: unix sockets only ("" otherwise)
        fixed = api_version or os.environ.get("DOCKER_API_VERSION") or None
        # Until negotiated (the first versioned request), ours.
        self.api_version = fixed or API_VERSION
        self._negotiated = fixed is not None
        self._cached = False
        self._negotiating: anyio.Lock | None = None
        self.pool_size = pool_size
        self._idle: list[Connection] = []

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.aclose()

    def target(self, path: str, params: Params | None = None, versioned: bool = True) -> str:
        return wire_target(self.api_version, path, params, versioned)

    async def negotiate(self) -> str:
        """The API version spoken with this engine: asked once (or remembered), then kept."""
        if self._negotiated:
            return self.api_version
        if self._negotiating is None:
            self._negotiating = anyio.Lock()
        async with self._negotiating:
            if not self._negotiated:
                known = version_cache.lookup(self.path)
                if known is None:
                    known = await self._ask_version()
                    version_cache.remember(self.path, known)
                else:
                    self._cached = True
                self.api_version, self._negotiated = known, True
        return self.api_version

    async def _ask_version(self) -> str:
        """min(ours, the engine's): the Api-Version header of /_ping, else /version (docker CLI, docker-py)."""
        engine_max = await self.ping()
        engine_min = None
        if not engine_max:
            document = await (await self.get("/version", versioned=False)).json() or {}
            engine_max, engine_min = str(document.get("ApiVersion") or ""), document.get("MinAPIVersion")
        return negotiate(engine_max, engine_min)

    async def _fitted(self, method: str, path: str, params: Params | None, json: Any) -> tuple[Params | None, Any]:
        version = await self.negotiate()
        key = route(method, path)
        return fit_params(key, params, version), fit_body(key, json, version) if json is not None else None

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        json: Any = None,
        body: Body | None = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
        check: bool = True,
    ) -> Response:
        """Send a request; an error status raises EngineError (unless not `check`)."""
        if versioned:
            params, json = await self._fitted(method, path, params, json)
        target = self.target(path, params, versioned)
        head, payload = self._head_and_body(json, body, headers)
        while True:
            conn, reused = await self._acquire()
            try:
                response = await self._exchange(conn, method, target, head, payload)
                break
            except ConnectionLost as exc:
                await conn.aclose()
                # An idle keep-alive connection the engine has since closed:
                # try the next one (at worst a fresh one), if the body can be
                # sent again.
                if reused and not exc.answered and isinstance(payload, bytes):
                    continue
                raise EngineConnectionError(f"{method} {path}: {exc}") from None
            except BaseException:
                # Cancelled or failed half-way: the connection's state is unknown.
                with anyio.CancelScope(shield=True):
                    await conn.aclose()
                raise
        if response.status >= 400 and check:
            message = await _error_message(response)
            if self._cached and response.status == 400 and "is too new" in message and isinstance(payload, bytes):
                # The remembered version was wrong (another engine at the same socket): ask again, once.
                version_cache.forget(self.path)
                self._negotiated = self._cached = False
                return await self.request(method, path, params, json, body, headers, versioned)
            raise EngineError(response.status, message)
        return response

    async def get(self, path: str, params: Params | None = None, **kw: Any) -> Response:
        return await self.request("GET", path, params, **kw)

    async def head(self, path: str, params: Params | None = None, **kw: Any) -> Response:
        return await self.request("HEAD", path, params, **kw)

    async def post(self, path: str, params: Params | None = None, **kw: Any) -> Response:
        return await self.request("POST", path, params, **kw)

    async def put(self, path: str, params: Params | None = None, **kw: Any) -> Response:
        return await self.request("PUT", path, params, **kw)

    async def delete(self, path: str, params: Params | None = None, **kw: Any) -> Response:
        return await self.request("DELETE", path, params, **kw)

    async def ping(self) -> str:
        """The engine's maximum API version (the Api-Version header of /_ping)."""
        # As the docker CLI: the header counts whatever the status (an engine without /_ping may still send it).
        response = await self.get("/_ping", versioned=False, check=False)
        data = await response.read()
        version = response.header("api-version") or ""
        if response.status >= 400 and not version:
            raise EngineError(response.status, error_message(response.status, data))
        return version

    async def version(self) -> dict[str, Any]:
        return await (await self.get("/version")).json()

    async def info(self) -> dict[str, Any]:
        return await (await self.get("/info")).json()

    async def hijack(
        self, method: str, path: str, params: Params | None = None, json: Any = None
    ) -> RawStream:
        """Send a request that takes the connection over (attach, exec start)."""
        params, json = await self._fitted(method, path, params, json)
        extra = {"Connection": "Upgrade", "Upgrade": "tcp"}
        head, payload = self._head_and_body(json, None, extra)
        conn = await Connection.open(self.endpoint)
        try:
            await conn.send_request(method, self.target(path, params), head, payload)
            answer = await conn.receive_head()
            if answer.status_code >= 400:
                data = b"".join([chunk async for chunk in _body(conn)])
                raise EngineError(answer.status_code, error_message(answer.status_code, data))
            if answer.status_code != 101:
                raise EngineError(500, f"{method} {path}: the engine did not switch protocols")
        except ConnectionLost as exc:
            await conn.aclose()
            raise EngineConnectionError(f"{method} {path}: {exc}") from None
        except BaseException:
            await conn.aclose()
            raise
        pending, _ = conn.h11.trailing_data
        return RawStream(conn.stream, bytes(pending))

    def _head_and_body(
        self, json: Any, body: Body | None, headers: Mapping[str, str] | None
    ) -> tuple[list[tuple[str, str]], Body]:
        head = [("Host", "pycompose"), ("User-Agent", USER_AGENT)]
        head += list((headers or {}).items())
        given = {name.lower() for name, _ in head}
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            if "content-type" not in given:
                head.append(("Content-Type", "application/json"))
        if body is None:
            body = b""
        if isinstance(body, bytes):
            head.append(("Content-Length", str(len(body))))
        else:
            head.append(("Transfer-Encoding", "chunked"))
        return head, body

    async def _exchange(
        self, conn: Connection, method: str, target: str, head: list[tuple[str, str]], body: Body
    ) -> Response:
        try:
            await conn.send_request(method, target, head, body)
        except ConnectionLost:
            # The engine may have answered before taking the whole body (an
            # error about the request): that answer is worth more than ours.
            answer = await conn.receive_head()
        else:
            answer = await conn.receive_head()
        assert isinstance(answer, h11.Response)
        return Response(self, conn, answer)

    async def _acquire(self) -> tuple[Connection, bool]:
        if self._idle:
            return self._idle.pop(), True
        return await Connection.open(self.endpoint), False

    async def _release(self, conn: Connection) -> None:
        if conn.reusable() and len(self._idle) < self.pool_size:
            self._idle.append(conn)
        else:
            await conn.aclose()


async def _error_message(response: Response) -> str:
    return error_message(response.status, await response.read())


async def _body(conn: Connection) -> AsyncIterator[bytes]:
    while chunk := await conn.receive_data():
        yield chunk


def run_sync(host: str, func: Callable[[EngineClient], Awaitable[T]]) -> T:
    """Run `func(client)` to completion from synchronous code (the CLI)."""

    async def main() -> T:
        async with EngineClient(host) as client:
            return await func(client)

    return anyio.run(main)


def ping_sync(host: str, timeout: float = 1.0) -> str | None:
    """The engine's API version if it answers within `timeout`, else None."""

    async def ping(client: EngineClient) -> str | None:
        with anyio.move_on_after(timeout):
            try:
                return await client.ping()
            except EngineError:
                return None
        return None

    return run_sync(host, ping)
