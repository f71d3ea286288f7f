"""The blocking Engine API client against a canned UNIX-socket server: framing, errors, upgrade."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from compose.client.blocking import BlockingClient
from compose.client.errors import EngineConnectionError, EngineError
from tests.runtime.api.inprocess import short_dir


class Canned:
    """Answers each connection with the next canned bytes, after reading the request's head."""

    def __init__(self, path: Path, answers: list[bytes]) -> None:
        self.answers, self.requests = answers, list[str]()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.fspath(path))
        self.listener.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for answer in self.answers:
            conn, _ = self.listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append(head.decode() + "\n\n" + body.decode(errors="replace"))
                conn.sendall(answer)
                if answer.startswith(b"HTTP/1.1 101"):
                    conn.sendall(b"more")
                    conn.shutdown(socket.SHUT_WR)
                    while conn.recv(65536):
                        pass

    def close(self) -> None:
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def where() -> Iterator[Path]:
    with short_dir() as path:
        yield path / "engine.sock"


def serve(where: Path, *answers: bytes) -> tuple[Canned, BlockingClient]:
    return Canned(where, list(answers)), BlockingClient(f"unix://{where}", api_version="1.45")


def test_content_length_json_and_the_request_line(where: Path) -> None:
    server, client = serve(where, b'HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{"Id":"ab"}')
    assert client.call("POST", "/containers/create", {"name": "x y", "all": True}, json={"Image": "b"}) == {"Id": "ab"}
    server.close()
    head, _, body = server.requests[0].partition("\n\n")
    lines = head.split("\r\n")
    assert lines[0] == "POST /v1.45/containers/create?name=x%20y&all=1 HTTP/1.1"
    assert "Connection: close" in lines and "Content-Type: application/json" in lines
    assert body == '{"Image":"b"}'


def test_chunked_and_until_the_end(where: Path) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"St\r\nc;x=1\r\natusCode\":3}\r\n0\r\n\r\n"
    server, client = serve(where, chunked, b"HTTP/1.1 200 OK\r\n\r\n[1, 2]")
    assert client.call("POST", "/containers/c/wait") == {"StatusCode": 3}
    assert client.call("GET", "/containers/json") == [1, 2]
    server.close()


def test_errors_carry_the_engines_status_and_message(where: Path) -> None:
    answer = b'HTTP/1.1 404 Not Found\r\nContent-Length: 37\r\n\r\n{"message":"No such container: nope"}'
    server, client = serve(where, answer)
    with pytest.raises(EngineError) as caught:
        client.call("GET", "/containers/nope/json")
    assert caught.value.status == 404 and caught.value.message == "No such container: nope"
    server.close()


def test_no_engine_is_a_connection_error(where: Path) -> None:
    with pytest.raises(EngineConnectionError, match="cannot connect to the engine"):
        BlockingClient(f"unix://{where}").call("GET", "/_ping")
    with pytest.raises(EngineConnectionError, match="use unix://, tcp:// or ssh://"):
        BlockingClient("http://1.2.3.4:2375")


def test_hijack_hands_over_the_socket_and_what_came_with_the_answer(where: Path) -> None:
    server, client = serve(where, b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst")
    sock, pending = client.hijack("POST", "/containers/c/attach", {"stream": True})
    with sock:
        data = pending
        while chunk := sock.recv(100):
            data += chunk
        sock.shutdown(socket.SHUT_WR)
    server.close()
    assert data == b"firstmore"
    assert "Upgrade: tcp" in server.requests[0]


def test_a_malformed_answer_is_a_connection_error(where: Path) -> None:
    server, client = serve(where, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"SSH-2.0\r\n\r\n")
    with pytest.raises(EngineConnectionError, match="malformed"):
        client.call("GET", "/info")
    with pytest.raises(EngineConnectionError, match="not an HTTP answer"):
        client.call("GET", "/info")
    server.close()


def test_a_refused_upgrade_is_an_error(where: Path) -> None:
    server, client = serve(where, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(EngineError, match="did not switch protocols"):
        client.hijack("POST", "/exec/e/start")
    server.close()


def test_the_short_paths_import_no_event_loop() -> None:
    code = ("import sys, compose.cli.container_plain, compose.cli.container_run; "
            "print(sorted(m for m in ('anyio', 'h11', 'asyncio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"
