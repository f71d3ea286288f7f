"""A raw Engine API client for input tests: any bytes as the body, any target, the answer as it comes."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

TIMEOUT = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @property
    def message(self) -> str:
        try:
            return str(json.loads(self.body)["message"])
        except (ValueError, KeyError, TypeError):
            return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class RawClient(http.client.HTTPConnection):
    """One keep-alive connection to the engine's UNIX socket (reconnects when the engine closes it)."""

    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock

    def call(self, method: str, target: str, body: bytes | None = None, value: Any = None) -> Answer:
        if value is not None:
            body = json.dumps(value).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.request(method, "/v1.45" + target, body=body, headers=headers)
            response = self.getresponse()
            answer = Answer(response.status, response.read())
        except (http.client.HTTPException, ConnectionError):
            self.close()
            raise
        if response.will_close:
            self.close()
        return answer


def segment(text: str | bytes) -> str:
    """A path segment or query value, percent-encoded (NUL, bytes that are not UTF-8 and all)."""
    return quote(text, safe="")


def import_busybox(client: RawClient, where: Path) -> str:
    """`busybox:latest` on the engine, imported from Debian's busybox-static through the API."""
    from tests.runtime.images.busybox import build_busybox_rootfs_tar

    tar = build_busybox_rootfs_tar(where / "busybox.tar")
    answer = client.call("POST", "/images/create?fromSrc=-&repo=busybox&tag=latest&changes=" +
                         segment('CMD ["sh"]'), tar.read_bytes())
    tar.unlink()
    assert answer.status == 200, answer.message
    return "busybox:latest"
