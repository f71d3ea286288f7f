"""What a route handler sees (Request) and gives back (Response).

The server (server.py) fills a Request from h11 events and writes the
Response; handlers never touch h11 or the socket, except through the hijack
hook, which hands them the raw connection (attach/exec).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.abc

from runtime.api import jsonparse
from runtime.api.errors import EngineError, bad_request, error_body

# Docker's limit for JSON request bodies is generous; ours only guards memory.
JSON_BODY_LIMIT = 16 * 1024 * 1024

FALSE_WORDS = frozenset({"", "0", "no", "false", "none"})
_UNDECODED: Any = object()


class BodySource(Protocol):
    """The request body as the server reads it off the connection."""

    async def receive(self) -> bytes:
        """The next piece of the body; b"" once the body is complete."""
        ...


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: BodySource
    tasks: anyio.abc.TaskGroup
    api_version: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    # Filled by the router's decoder (runtime/api/decode.py): the typed query parameters the
    # operation knows, and the JSON body decoded into its Go type.
    values: dict[str, Any] = field(default_factory=dict)
    decoded: Any = _UNDECODED

    def arg(self, name: str, default: str = "") -> str:
        """The first value of a query parameter (Go's `r.Form.Get`)."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, ()))

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter read the way Docker reads it."""
        if name not in self.query:
            return default
        return bool_value(self.arg(name))

    def filters(self) -> dict[str, list[str]]:
        return parse_filters(self.arg("filters"))

    async def chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.body.receive():
            yield chunk

    async def read(self, limit: int = JSON_BODY_LIMIT) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise bad_request(f"request body larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def json(self, limit: int = JSON_BODY_LIMIT) -> Any:
        """The JSON body (typed, when the operation has a body type), or None when the body is empty."""
        if self.decoded is not _UNDECODED:
            return self.decoded
        data = await self.read(limit)
        if not data.strip():
            return None
        return jsonparse.loads(data)


class RawStream:
    """The connection after a hijack: bytes both ways, HTTP is over.

    `pending` holds what the client sent after its request and the server had
    already read (h11's trailing data); it is delivered first.
    """

    def __init__(self, stream: anyio.abc.ByteStream, pending: bytes = b"") -> None:
        self._stream = stream
        self._pending = pending

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """The next bytes; raises anyio.EndOfStream when the peer is done sending."""
        if self._pending:
            data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
            return data
        return await self._stream.receive(max_bytes)

    async def send(self, data: bytes) -> None:
        await self._stream.send(data)

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


Hijacker = Callable[[RawStream], Awaitable[None]]


@dataclass
class Response:
    """A status, headers and a body that is bytes or a stream of chunks.

    A streamed body is sent chunked. The server pulls the first chunk before it
    sends the status line, so a stream that fails at once still becomes a
    proper error response; a stream that must send its headers before it has
    data (events, logs --follow) yields b"" first.
    With `hijack` set, the server answers `101 UPGRADED` (or Docker's `200` for
    a client that did not ask to upgrade) and hands the raw connection over.
    """

    status: int = 200
    body: bytes | AsyncIterable[bytes] = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    hijack: Hijacker | None = None


def json_bytes(value: Any) -> bytes:
    """Compact JSON with a newline, as Go's json.Encoder writes it."""
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json_bytes(value), [("Content-Type", "application/json")])


def empty_response(status: int = 204) -> Response:
    return Response(status)


def json_stream(messages: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]) -> Response:
    """A progress stream: one JSON object per line, chunked."""

    async def encode() -> AsyncIterator[bytes]:
        if isinstance(messages, AsyncIterable):
            async for message in messages:
                yield json_bytes(message)
        else:
            for message in messages:
                yield json_bytes(message)

    return Response(200, encode(), [("Content-Type", "application/json")])


def bool_value(text: str) -> bool:
    return text.strip().lower() not in FALSE_WORDS


def parse_filters(text: str) -> dict[str, list[str]]:
    """Docker's `filters` parameter: JSON `{"key": ["v", ...]}`.

    Older clients send `{"key": {"v": true}}`; both forms are accepted, as the
    Docker daemon does.
    """
    if not text.strip():
        return {}
    try:
        raw = jsonparse.loads(text)
    except EngineError as exc:
        raise bad_request(f"invalid filters: {exc.message.removeprefix('invalid JSON: ')}") from None
    if not isinstance(raw, dict):
        raise bad_request("invalid filters: expected a JSON object")
    result: dict[str, list[str]] = {}
    for key, value in raw.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            result[key] = list(value)
        elif isinstance(value, dict) and all(isinstance(v, bool) for v in value.values()):
            result[key] = [v for v, on in value.items() if on]
        else:
            raise bad_request(f"invalid filters: bad value for {key!r}")
    return result


def error_response(error: EngineError) -> Response:
    return Response(error.status, error_body(error.message), [("Content-Type", "application/json")])


def engine_error_in(exc: BaseException) -> EngineError | None:
    """The EngineError a handler raised, also from inside a task group; the 400 for an exception
    bad input causes deep in the engine (jsonparse.refused: a class of input, not a case)."""
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, ConnectionError) and getattr(exc, "kind", None) == "unavailable":
        # SupervisorUnavailable: the supervisor died during the request and is being replaced.
        return EngineError(503, f"{exc}: the container supervisor is being replaced, try again in a moment")
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return engine_error_in(exc.exceptions[0])
    return jsonparse.refused(exc)
