"""A blocking Engine API client for the CLI's short paths (run and exec without a terminal or stdin).

Importing anyio, h11 and asyncio and starting an event loop costs a command
about 25 ms, more than the engine needs to run a container; these paths make
a handful of calls in a fixed order and need none of it. Each request has its
own connection (`Connection: close`): a connect on a UNIX socket costs
microseconds, and without a pool nothing goes stale. The HTTP spoken is what
the engine answers: a status line and headers, then a body framed by
Content-Length, chunked encoding or the connection's end; a 101 hands the
socket over (attach, exec start). The API version is negotiated as the
anyio client does it (its first versioned request asks `/_ping`, unless
version_cache.py remembers this engine) and each request is fitted to it.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import os
import socket
from typing import Any

from compose.client import version_cache
from compose.client.errors import EngineConnectionError, EngineError
from compose.client.place import DEFAULT_HOST
from compose.client.transport import endpoint, open_socket, reason, unanswered
from compose.client.versions import fit_body, fit_params, negotiate, route
from compose.client.wire import USER_AGENT, Params, error_message, target

READ_SIZE = 65536
MAX_HEAD = 64 * 1024


class Exchange:
    """One answer on its own connection: status and headers are read, the body on demand."""

    def __init__(self, sock: socket.socket, status: int, headers: dict[str, str], buffered: bytes) -> None:
        self.sock, self.status, self.headers = sock, status, headers
        self._buffer = buffered

    def read(self) -> bytes:
        """The whole body (waits for it: a wait answer comes when the container is gone)."""
        try:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                return self._chunked()
            length = self.headers.get("content-length")
            if length is not None:
                return self._exactly(int(length))
            return self._to_end()
        finally:
            self.close()

    def json(self) -> Any:
        data = self.read()
        return jsonlib.loads(data) if data.strip() else None

    def detach(self) -> tuple[socket.socket, bytes]:
        """The connection of a switched protocol, and the bytes already read from it."""
        sock, pending, self._buffer = self.sock, self._buffer, b""
        return sock, pending

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(READ_SIZE)
        except OSError as exc:
            raise EngineConnectionError(f"connection to the engine lost: {exc.strerror or exc}") from None
        self._buffer += data
        return bool(data)

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                raise EngineConnectionError("the engine closed the connection in the middle of an answer")
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            if not self._fill():
                raise EngineConnectionError("the engine closed the connection in the middle of an answer")
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def _chunked(self) -> bytes:
        parts = []
        while size := self._chunk_size():
            parts.append(self._exactly(size))
            self._line()
        while self._line():  # trailers, up to the empty line
            pass
        return b"".join(parts)

    def _chunk_size(self) -> int:
        line = self._line()
        try:
            return int(line.split(b";")[0], 16)
        except ValueError:
            raise EngineConnectionError(f"malformed chunked answer from the engine: {line[:40]!r}") from None

    def _to_end(self) -> bytes:
        while self._fill():
            pass
        data, self._buffer = self._buffer, b""
        return data


class BlockingClient:
    """Docker's API over the engine's socket (transport.py), one blocking request at a time."""

    def __init__(self, host: str = DEFAULT_HOST, api_version: str | None = None) -> None:
        self.endpoint = endpoint(host)
        self.path = self.endpoint.path  # the version cache's key: unix sockets only ("" otherwise)
        self._version = api_version or os.environ.get("DOCKER_API_VERSION") or None
        self._cached = False

    @property
    def api_version(self) -> str:
        """The version spoken: asked of the engine once (or remembered), then kept."""
        if self._version is None:
            known = version_cache.lookup(self.path)
            self._cached = known is not None
            if known is None:
                ping = self.open("GET", "/_ping", versioned=False, check=False)
                data = ping.read()  # the header counts whatever the status, as the docker CLI has it
                engine_max, engine_min = ping.headers.get("api-version", ""), None
                if ping.status >= 400 and not engine_max:
                    raise EngineError(ping.status, error_message(ping.status, data))
                if not engine_max:
                    document = self.open("GET", "/version", versioned=False).json() or {}
                    engine_max, engine_min = str(document.get("ApiVersion") or ""), document.get("MinAPIVersion")
                known = negotiate(engine_max, engine_min)
                version_cache.remember(self.path, known)
            self._version = known
        return self._version

    def open(self, method: str, path: str, params: Params | None = None, json: Any = None,
             body: bytes | None = None, upgrade: bool = False, versioned: bool = True,
             check: bool = True) -> Exchange:
        """Send a request and read the answer's head; an error status raises EngineError (unless not `check`)."""
        version = ""
        if versioned:
            version = self.api_version
            key = route(method, path)
            params = fit_params(key, params, version)
            json = fit_body(key, json, version) if json is not None else None
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
        head = [f"{method} {target(version, path, params, versioned)} HTTP/1.1", "Host: pycompose",
                f"User-Agent: {USER_AGENT}", f"Content-Length: {len(body or b'')}"]
        if json is not None:
            head.append("Content-Type: application/json")
        head += ["Connection: Upgrade", "Upgrade: tcp"] if upgrade else ["Connection: close"]
        sock = open_socket(self.endpoint)
        try:
            # The engine may answer before it took the whole body (an error about the request): read that.
            with contextlib.suppress(BrokenPipeError):
                sock.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + (body or b""))
            exchange = Exchange(sock, *_read_head(sock))
        except OSError as exc:  # a TLS alert (a refused certificate), a reset
            sock.close()
            raise self.endpoint.failure(reason(exc)) from None
        except EngineConnectionError as exc:
            sock.close()
            if "without an answer" in str(exc):
                raise unanswered(self.endpoint) from None
            raise
        except BaseException:
            sock.close()
            raise
        if exchange.status >= 400 and check:
            message = error_message(exchange.status, exchange.read())
            if self._cached and versioned and exchange.status == 400 and "is too new" in message:
                # The remembered version was wrong (another engine at the same socket): ask again, once.
                version_cache.forget(self.path)
                self._version, self._cached = None, False
                return self.open(method, path, params, json, body, upgrade, versioned, check)
            raise EngineError(exchange.status, message)
        return exchange

    def call(self, method: str, path: str, params: Params | None = None, json: Any = None,
             body: bytes | None = None) -> Any:
        """One request; its JSON answer (None for an empty body)."""
        return self.open(method, path, params, json, body).json()

    def hijack(self, method: str, path: str, params: Params | None = None,
               json: Any = None) -> tuple[socket.socket, bytes]:
        """A request that takes the connection over (attach, exec start): the socket and its first bytes."""
        exchange = self.open(method, path, params, json, upgrade=True)
        if exchange.status != 101:
            exchange.close()
            raise EngineError(500, f"{method} {path}: the engine did not switch protocols")
        return exchange.detach()


def _read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(READ_SIZE)
        if not data:
            raise EngineConnectionError("the engine closed the connection without an answer")
        buffer += data
        if len(buffer) > MAX_HEAD:
            raise EngineConnectionError("the engine's answer has an oversized head")
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise EngineConnectionError(f"not an HTTP answer from the engine: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest
