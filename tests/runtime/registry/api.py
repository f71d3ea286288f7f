"""Raw Engine API calls for registry tests: status and body, no client library in between."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from typing import Any

from tests.engine_fixture import EngineHandle


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def registry_auth(username: str, password: str, server: str) -> str:
    raw = json.dumps({"username": username, "password": password, "serveraddress": server}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def call(engine: EngineHandle, method: str, path: str, body: Any = None, auth: str = "",
         timeout: float = 120) -> tuple[int, bytes]:
    conn = _UnixConnection(str(engine.socket), timeout)
    headers = {"X-Registry-Auth": auth} if auth else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def stream_lines(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.splitlines() if line.strip()]
