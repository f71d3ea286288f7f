"""A stand-in for `EngineClient`: canned answers per (method, path), streams fed by the test, every call recorded.

Only the client's surface the compose layer uses: get/post/delete returning
a response with `json()`, `read()`, `stream()`, `json_stream()`, `header()`
and `aclose()`; errors as `EngineError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio

from compose.client import EngineError

Answer = Any  # a JSON value, bytes, an EngineError, a FakeStream, or a callable (params, body) -> one of those


class FakeStream:
    """A response body the test writes to while the code under test reads it."""

    def __init__(self) -> None:
        self.send, self.receive = anyio.create_memory_object_stream[bytes](1000)

    def push(self, data: bytes | dict[str, Any]) -> None:
        self.send.send_nowait(json.dumps(data).encode() if isinstance(data, dict) else data)

    def end(self) -> None:
        self.send.close()


class FakeResponse:
    def __init__(self, body: Any, headers: dict[str, str] | None = None) -> None:
        self.body = body
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.closed = False

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    async def stream(self) -> AsyncIterator[bytes]:
        if isinstance(self.body, FakeStream):
            async for chunk in self.body.receive:
                yield chunk
            return
        if isinstance(self.body, list) and all(isinstance(b, bytes) for b in self.body):
            for chunk in self.body:
                yield chunk
            return
        if isinstance(self.body, bytes):
            yield self.body
        elif self.body is not None:
            yield json.dumps(self.body).encode()

    async def read(self) -> bytes:
        return b"".join([c async for c in self.stream()])

    async def json(self) -> Any:
        data = await self.read()
        return json.loads(data) if data.strip() else None

    async def json_stream(self) -> AsyncIterator[dict[str, Any]]:
        async for chunk in self.stream():
            for line in chunk.splitlines():
                if line.strip():
                    yield json.loads(line)

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    json: Any


@dataclass
class FakeClient:
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    headers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def on(self, method: str, path: str, answer: Answer, headers: dict[str, str] | None = None) -> None:
        self.answers[(method, path)] = answer
        if headers:
            self.headers[(method, path)] = headers

    api_version: str = "1.45"

    async def negotiate(self) -> str:
        return self.api_version

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None,
                      **_: Any) -> FakeResponse:
        self.calls.append(Call(method, path, dict(params or {}), json))
        answer = self.answers.get((method, path), None if method != "GET" else EngineError(404, "page not found"))
        if callable(answer):
            answer = answer(params or {}, json)
        if isinstance(answer, EngineError):
            raise answer
        return FakeResponse(answer, self.headers.get((method, path)))

    async def get(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> FakeResponse:
        return await self.request("GET", path, params, **kw)

    async def post(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> FakeResponse:
        return await self.request("POST", path, params, **kw)

    async def delete(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> FakeResponse:
        return await self.request("DELETE", path, params, **kw)

    def paths(self, method: str | None = None) -> list[str]:
        return [c.path for c in self.calls if method is None or c.method == method]


def inspect_doc(name: str, status: str, *, started: str = "2024-01-01T00:00:01Z", finished: str = "",
                code: int = 0, health: str | None = None, healthcheck: bool = False) -> dict[str, Any]:
    state: dict[str, Any] = {"Status": status, "StartedAt": started, "FinishedAt": finished or "0001-01-01T00:00:00Z",
                             "ExitCode": code, "Running": status == "running"}
    if health:
        state["Health"] = {"Status": health, "Log": [{"End": "2024-01-01T00:00:05Z"}]}
    config = {"Healthcheck": {"Test": ["CMD", "true"]}} if healthcheck else {}
    return {"Id": name * 4, "Name": f"/{name}", "State": state, "Config": config}
